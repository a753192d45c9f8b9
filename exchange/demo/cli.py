"""``datarun demo``: seed the demo province, or bring the whole hub up with it in one command."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from sqlalchemy import select

from exchange.core.db import make_engine, make_sessionmaker, session_scope
from exchange.core.errors import DomainError
from exchange.core.migrate import upgrade
from exchange.core.settings import Settings, get_settings
from exchange.demo.people import PASSWORD_FILE, demo_password, give_demo_passwords
from exchange.demo.seed import DEMO_WINDOW_CLIENT, SeedResult, load_province, seed_demo
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import (
    DEFAULT_PEOPLE,
    DEFAULT_SEED,
    HTTP_DEPARTMENT,
    MYSQL_ENV,
    POSTGRES_ENV,
    Sources,
    ensure_sources,
)
from exchange.demo.sources.http_department import (
    BackgroundServer,
    create_department_app,
    ensure_api_key,
)
from exchange.identity.keys import KeyRing
from exchange.identity.models import User
from exchange.identity.tokens import issue_access_token

app = typer.Typer(no_args_is_help=True, help="The demo province (浙江省).")

DEMO_TOKEN_TTL = 3600
DEMO_QUERY = "户籍"
DEPARTMENT_PORT = 8801  # the HTTP department (人社厅's own API) beside the hub
ALLOWLIST_ENV = "DATARUN_CONNECTOR_HTTP_ALLOWLIST"
DEMO_ALLOWLIST = '["127.0.0.1:*"]'

People = Annotated[int, typer.Option("--people", min=50, help="synthetic residents to generate")]
Seed = Annotated[int, typer.Option("--seed", help="seed of the generator (same seed: same data)")]


def key_dir(settings: Settings) -> Path:
    """Return where the demo systems' private keys are kept."""
    return settings.data_dir / "demo-keys"


def department_key_file(settings: Settings) -> Path:
    """Return where the HTTP department's API key is kept (0600, made on first use)."""
    return key_dir(settings) / f"{HTTP_DEPARTMENT}.api-key"


def demo_sources(settings: Settings, *, seed: int, people: int, force: bool = False) -> Sources:
    """Generate (or reuse) the demo departments' data under the data directory."""
    return ensure_sources(
        settings.data_dir,
        seed=seed,
        people=people,
        postgres_url=os.environ.get(POSTGRES_ENV) or None,
        mysql_url=os.environ.get(MYSQL_ENV) or None,
        force=force,
        progress=typer.echo,
    )


def allow_demo_department() -> None:
    """Let the hub's HTTP connector call the demo department on loopback, unless configured."""
    if ALLOWLIST_ENV not in os.environ:
        os.environ[ALLOWLIST_ENV] = DEMO_ALLOWLIST
        get_settings.cache_clear()


def migrate_and_seed(
    settings: Settings,
    *,
    sources: Sources | None = None,
    http: HttpDepartment | None = None,
) -> SeedResult:
    """Migrate the hub database to head and seed the demo province, reporting progress."""
    url = settings.effective_database_url
    typer.echo(f"migrating {url.split('@')[-1]} to head")
    upgrade(url)
    typer.echo(f"seeding the demo province; system keys in {_shown(key_dir(settings))}")
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            result = seed_demo(
                session,
                key_dir=key_dir(settings),
                progress=typer.echo,
                sources=sources,
                settings=settings if sources is not None else None,
                http=http,
            )
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        for problem in exc.errors or []:
            typer.echo(f"  {problem.get('field')}: {problem.get('message')}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"seeded: {sum(result.created.values())} objects created")
    return result


def console_people(settings: Settings, url: str) -> list[str]:
    """Give the demo people without a password the demo one; return the lines to print."""
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            give_demo_passwords(session, settings)
            names = list(session.scalars(select(User.username).order_by(User.username)))
    finally:
        engine.dispose()
    return [
        f"Console (管理控制台): {url}/console — people: {', '.join(names)}",
        f"  demo password (all of them): {demo_password(settings)}"
        f"  (kept in {_shown(settings.data_dir / PASSWORD_FILE)})",
    ]


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


def banner(
    settings: Settings,
    *,
    url: str,
    token: str,
    sources: Sources | None = None,
    department_url: str | None = None,
) -> str:
    """Return what ``demo up`` prints: where the hub is, a token and a curl line that works."""
    key_file = _shown(key_dir(settings) / f"{DEMO_WINDOW_CLIENT}.jwk.json")
    search = f"{url}/v1/catalog/resources?q={quote(DEMO_QUERY)}"
    lines = [
        "",
        "DataRun hub with the demo province (浙江省)",
        f"  base URL   {url}",
        f"  API docs   {url}/docs",
    ]
    if sources is not None:
        lines += sample_lines(sources, department_url=department_url)
    return "\n".join(
        [
            *lines,
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


def sample_lines(sources: Sources, *, department_url: str | None = None) -> list[str]:
    """Return the lines naming the departments' data and keys that exist in it."""
    manifest = sources.manifest
    lines = [
        "",
        f"The departments' own data (seed {manifest['seed']}, {manifest['people']:,} people) "
        f"in {_shown(sources.root)}",
    ]
    if department_url:
        lines.append(
            f"  {HTTP_DEPARTMENT} (人社厅) answers over HTTP at {department_url}; in another"
        )
        lines.append(
            f"  shell, let the hub call it with: export {ALLOWLIST_ENV}="
            f"'{os.environ.get(ALLOWLIST_ENV, DEMO_ALLOWLIST)}'"
        )
    lines.append("Keys that exist there:")
    lines += [f"  {what}: {value}" for what, value in sources.samples.items()]
    lines += [
        "Look a record up through its binding, as the hub's connector does:",
        "datarun demo lookup 303001001/000001 "
        f"{shlex.quote(cast.PROPERTY_CERT_NO)} --item owner_name --item location",
    ]
    return lines


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@app.command()
def sources(
    people: People = DEFAULT_PEOPLE,
    seed: Seed = DEFAULT_SEED,
    force: Annotated[bool, typer.Option(help="generate again even if cached")] = False,
) -> None:
    """Generate the demo departments' own data (cached per seed and size) and show sample keys.

    公安 goes to PostgreSQL when DATARUN_DEMO_POSTGRES_URL is set, 民政 to MariaDB/MySQL when
    DATARUN_DEMO_MYSQL_URL is; otherwise each department keeps SQLite, DuckDB, Parquet or
    CSV files under the data directory.
    """
    found = demo_sources(get_settings(), seed=seed, people=people, force=force)
    typer.echo("\n".join(sample_lines(found)[1:]))


@app.command()
def seed(
    people: People = DEFAULT_PEOPLE,
    seed: Seed = DEFAULT_SEED,
    with_sources: Annotated[
        bool, typer.Option(help="generate the departments' data and bind the resources to it")
    ] = True,
    department_port: Annotated[
        int, typer.Option(help="port the HTTP department will answer on (demo up)")
    ] = DEPARTMENT_PORT,
) -> None:
    """Migrate the hub database and seed the demo province and its bindings (idempotent)."""
    if not with_sources:
        migrate_and_seed(get_settings())
        return
    allow_demo_department()
    settings = get_settings()
    found = demo_sources(settings, seed=seed, people=people)
    http = HttpDepartment(
        base_url=f"http://127.0.0.1:{department_port}",
        api_key=ensure_api_key(department_key_file(settings)),
        running=False,
    )
    migrate_and_seed(settings, sources=found, http=http)


@app.command()
def department(
    people: People = DEFAULT_PEOPLE,
    seed: Seed = DEFAULT_SEED,
    port: Annotated[int, typer.Option(help="port to bind on 127.0.0.1")] = DEPARTMENT_PORT,
) -> None:
    """Run the HTTP department (人社厅's own query API over the generated data) alone."""
    import uvicorn

    settings = get_settings()
    found = demo_sources(settings, seed=seed, people=people)
    api_key = ensure_api_key(department_key_file(settings))
    typer.echo(
        f"{HTTP_DEPARTMENT} API on http://127.0.0.1:{port} (key in "
        f"{_shown(department_key_file(settings))})"
    )
    uvicorn.run(create_department_app(found.http_database, api_key=api_key), port=port)


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    people: People = DEFAULT_PEOPLE,
    seed: Seed = DEFAULT_SEED,
    department_port: Annotated[
        int, typer.Option(help="port of the HTTP department on 127.0.0.1 (0: any free one)")
    ] = DEPARTMENT_PORT,
) -> None:
    """Generate the departments' data, start the HTTP department, seed, bind, and run the hub."""
    import uvicorn

    url = base_url(host, port)
    if "DATARUN_ISSUER" not in os.environ:
        # Name the hub by the address it runs at, so client assertions addressed to this
        # hub's token endpoint (aud) verify on any --host/--port.
        os.environ["DATARUN_ISSUER"] = url
        get_settings.cache_clear()
    allow_demo_department()
    settings = get_settings()
    found = demo_sources(settings, seed=seed, people=people)
    api_key = ensure_api_key(department_key_file(settings))
    server = BackgroundServer(
        create_department_app(found.http_database, api_key=api_key), port=department_port
    )
    bound = server.start()
    department_url = f"http://127.0.0.1:{bound}"
    try:
        http = HttpDepartment(base_url=department_url, api_key=api_key, running=True)
        migrate_and_seed(settings, sources=found, http=http)
        typer.echo("\n".join(console_people(settings, url)))
        typer.echo(
            banner(
                settings,
                url=url,
                token=demo_token(settings),
                sources=found,
                department_url=department_url,
            )
        )
        # Flush before uvicorn takes over the terminal, so the banner is never lost in a pipe.
        sys.stdout.flush()
        uvicorn.run("exchange.app:create_app", factory=True, host=host, port=port)
    finally:
        server.stop()


@app.command()
def lookup(
    code: Annotated[str, typer.Argument(help="资源代码 of a bound resource")],
    keys: Annotated[list[str], typer.Argument(help="values of the binding's key item")],
    item: Annotated[
        list[str] | None, typer.Option("--item", help="item to return (repeat; default: all)")
    ] = None,
) -> None:
    """Look records up through a resource's binding, as the hub's connector does (operator)."""
    from exchange.demo.sources.lookup import lookup_through_binding

    allow_demo_department()
    try:
        typer.echo(lookup_through_binding(get_settings(), code=code, keys=keys, items=item))
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None


@app.command("application-example")
def application_example(
    one_thing: Annotated[
        str, typer.Argument(help="esf-transfer | newborn | company-start")
    ] = "esf-transfer",
) -> None:
    """Print a ready application body for a demo one-thing, with the demo data's keys.

    Submit it as the one-thing's window system (esf-transfer: zj-zrzyt-window, newborn:
    zj-wjw-window, company-start: zj-scjgj-window) to POST /v1/applications with an
    Idempotency-Key header.
    """
    import json

    from exchange.demo.applications import EXAMPLES, example

    if one_thing not in EXAMPLES:
        typer.echo(f"error: no example for {one_thing!r} (one of {', '.join(EXAMPLES)})", err=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(example(one_thing), ensure_ascii=False, indent=2))
