"""``datarun demo``: seed the demo province, or bring the whole hub up with it in one command."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import quote

import typer

from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings, get_settings
from exchange.demo.seed import DEMO_WINDOW_CLIENT, SeedResult, load_province, seed_demo
from exchange.identity.keys import KeyRing
from exchange.identity.tokens import issue_access_token

app = typer.Typer(no_args_is_help=True, help="The demo province (浙江省).")

DEMO_TOKEN_TTL = 3600
DEMO_QUERY = "户籍"


def key_dir(settings: Settings) -> Path:
    """Return where the demo systems' private keys are kept."""
    return settings.data_dir / "demo-keys"


def migrate_and_seed(settings: Settings) -> SeedResult:
    """Migrate the hub database to head and seed the demo province, reporting progress."""
    url = settings.effective_database_url
    typer.echo(f"migrating {url.split('@')[-1]} to head")
    upgrade(url)
    typer.echo(f"seeding the demo province; system keys in {_shown(key_dir(settings))}")
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = seed_demo(session, key_dir=key_dir(settings), progress=typer.echo)
    finally:
        engine.dispose()
    typer.echo(f"seeded: {sum(result.created.values())} objects created")
    return result


def demo_token(settings: Settings, *, client_id: str = DEMO_WINDOW_CLIENT) -> str:
    """Issue a one-hour access token for a demo system, signed with the hub's own key."""
    system = next(s for s in load_province().systems if s.client_id == client_id)
    engine = make_engine(settings.effective_database_url)
    try:
        keyring = KeyRing(make_sessionmaker(engine), settings)
        token, _claims = issue_access_token(
            keyring,
            settings,
            subject=system.client_id,
            kind="system",
            department=system.department,
            roles=system.roles,
            client_id=system.client_id,
            ttl_seconds=DEMO_TOKEN_TTL,
        )
    finally:
        engine.dispose()
    return token


def base_url(host: str, port: int) -> str:
    """Return the URL a client on this machine reaches the hub at."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - reachable locally through loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(settings: Settings, *, url: str, token: str) -> str:
    """Return what ``demo up`` prints: where the hub is, a token and a curl line that works."""
    key_file = _shown(key_dir(settings) / f"{DEMO_WINDOW_CLIENT}.jwk.json")
    search = f"{url}/v1/catalog/resources?q={quote(DEMO_QUERY)}"
    return "\n".join(
        [
            "",
            "DataRun hub with the demo province (浙江省)",
            f"  base URL   {url}",
            f"  API docs   {url}/docs",
            "",
            f"Access token of the demo window system {DEMO_WINDOW_CLIENT} "
            "(不动产登记一窗受理), valid for one hour:",
            f"export TOKEN={token}",
            "",
            f"Search the catalogue for {DEMO_QUERY}:",
            f"curl -s -H \"Authorization: Bearer $TOKEN\" '{search}'",
            "",
            "A fresh token (client credentials with the system's own key, RFC 7523):",
            f"datarun token client --client-id {DEMO_WINDOW_CLIENT} --key-file {key_file}"
            f" --url {url}",
            "",
        ]
    )


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@app.command()
def seed() -> None:
    """Migrate the hub database and seed the demo province (idempotent)."""
    migrate_and_seed(get_settings())


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
) -> None:
    """Migrate, seed the demo province, print a token and a curl line, and run the hub."""
    import uvicorn

    url = base_url(host, port)
    if "DATARUN_ISSUER" not in os.environ:
        # Name the hub by the address it runs at, so client assertions addressed to this
        # hub's token endpoint (aud) verify on any --host/--port.
        os.environ["DATARUN_ISSUER"] = url
        get_settings.cache_clear()
    settings = get_settings()
    migrate_and_seed(settings)
    typer.echo(banner(settings, url=url, token=demo_token(settings)))
    # Flush before uvicorn takes over the terminal, so the banner is never lost in a pipe.
    sys.stdout.flush()
    uvicorn.run("exchange.app:create_app", factory=True, host=host, port=port)
