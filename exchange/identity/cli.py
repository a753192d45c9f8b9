"""Command-line sub-commands for this domain."""

import typer

app = typer.Typer(no_args_is_help=True)
