"""``datarun keys|users|systems|token``: signing keys, people, systems and tokens."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from sqlalchemy.orm import Session, sessionmaker

from exchange.core.db import make_engine, make_sessionmaker, session_scope, utcnow
from exchange.core.errors import DomainError
from exchange.core.settings import Settings, get_settings
from exchange.identity import clients, keys, repository, service
from exchange.identity.keys import KeyRing
from exchange.identity.schemas import JWKSet, SystemCreate

app = typer.Typer(no_args_is_help=True)
keys_app = typer.Typer(no_args_is_help=True, help="The hub's token-signing keys.")
users_app = typer.Typer(no_args_is_help=True, help="People: admins and auditors.")
systems_app = typer.Typer(no_args_is_help=True, help="Registered department systems (clients).")
token_app = typer.Typer(no_args_is_help=True, help="Get access tokens.")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(systems_app, name="systems")
app.add_typer(token_app, name="token")


@contextmanager
def _database() -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    try:
        yield settings, make_sessionmaker(engine)
    finally:
        engine.dispose()


def _fail(message: str, errors: list[dict[str, Any]] | None = None) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    for e in errors or []:
        typer.echo(f"  {e.get('field')}: {e.get('message')}", err=True)
    raise typer.Exit(1)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Start signing with a new hub key; the old ones keep verifying for the overlap window."""
    with _database() as (settings, factory), session_scope(factory) as session:
        keys.ensure_signing_key(session, settings)
        new = keys.rotate(session, settings)
        typer.echo(f"signing with {new.kid}")
        for old in repository.all_signing_keys(session):
            if old.kid != new.kid and old.expires_at and old.expires_at > utcnow():
                typer.echo(f"{old.kid} verifies until {old.expires_at:%Y-%m-%dT%H:%M:%SZ}")


@keys_app.command("list")
def keys_list() -> None:
    """List the hub's signing keys and whether each signs, verifies or has expired."""
    with _database() as (_, factory), factory() as session:
        now = utcnow()
        for key in repository.all_signing_keys(session):
            if key.retired_at is None:
                state = "signing"
            elif key.expires_at is None or key.expires_at > now:
                state = "verifying"
            else:
                state = "expired"
            until = f"{key.expires_at:%Y-%m-%dT%H:%M:%SZ}" if key.expires_at else "-"
            created = f"{key.created_at:%Y-%m-%d}"
            typer.echo(f"{key.kid}\t{key.alg}\t{state}\tcreated {created}\tuntil {until}")


@users_app.command("add")
def users_add(
    username: str,
    department: Annotated[str, typer.Option(help="department code")],
    role: Annotated[list[str], typer.Option(help="catalog_admin, province_admin or auditor")],
    display_name: Annotated[str | None, typer.Option(help="name shown in the console")] = None,
) -> None:
    """Register a person in a department with one or more roles."""
    with _database() as (_, factory):
        try:
            with session_scope(factory) as session:
                user = service.add_user(
                    session,
                    username=username,
                    department=department,
                    roles=role,
                    display_name=display_name,
                )
        except DomainError as exc:
            _fail(exc.detail, exc.errors)
    typer.echo(f"added user {user.username} ({department}: {', '.join(user.roles)})")


@users_app.command("list")
def users_list() -> None:
    """List registered people."""
    with _database() as (_, factory), factory() as session:
        for user in repository.list_users(session):
            roles = ",".join(user.roles)
            typer.echo(
                f"{user.username}\t{user.department.code}\t{roles}\t{user.status}\t{user.display_name}"
            )


@users_app.command("set-password")
def users_set_password(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Set a person's console password (argon2id); unlocks them and ends their sessions."""
    from exchange.console.accounts import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with _database() as (_, factory):
        try:
            with session_scope(factory) as session:
                set_password(session, username=username, password=password)
        except DomainError as exc:
            _fail(exc.detail, exc.errors)
    typer.echo(f"password set for {username}")


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift a console sign-in lock (after repeated wrong passwords) now."""
    from exchange.console.accounts import unlock

    with _database() as (_, factory):
        try:
            with session_scope(factory) as session:
                unlock(session, username=username)
        except DomainError as exc:
            _fail(exc.detail, exc.errors)
    typer.echo(f"unlocked {username}")


@token_app.command("issue")
def token_issue(
    user: Annotated[str, typer.Option(help="username")],
    ttl: Annotated[int | None, typer.Option(min=30, max=3600, help="lifetime in seconds")] = None,
) -> None:
    """Print an access token for a person (how admins and auditors get tokens for now)."""
    with _database() as (settings, factory):
        keyring = KeyRing(factory, settings)
        try:
            with session_scope(factory) as session:
                token, _ = service.issue_user_token(
                    session, keyring, settings, username=user, ttl=ttl
                )
        except DomainError as exc:
            _fail(exc.detail, exc.errors)
    typer.echo(token)


@token_app.command("client")
def token_client(
    client_id: Annotated[str, typer.Option(help="the system's client_id")],
    key_file: Annotated[Path, typer.Option(help="the system's private JWK file", exists=True)],
    url: Annotated[str, typer.Option(help="hub base URL")] = "http://127.0.0.1:8000",
    audience: Annotated[
        str | None, typer.Option(help="assertion aud (default: the token endpoint URL)")
    ] = None,
) -> None:
    """Get a system's access token by client credentials with a private_key_jwt assertion."""
    private_jwk = _read_json(key_file)
    token_url = f"{url.rstrip('/')}/oauth/token"
    aud = audience or token_url
    try:
        with httpx.Client(timeout=10.0) as http:
            body = clients.request_access_token(
                http,
                client_id=client_id,
                private_jwk=private_jwk,
                token_url=token_url,
                audience=aud,
            )
    except ValueError as exc:
        _fail(f"{key_file}: {exc}")
    except httpx.HTTPStatusError as exc:
        _fail(f"the hub refused: {exc.response.status_code} {exc.response.text}")
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {token_url}: {exc}")
    typer.echo(body["access_token"])


@systems_app.command("add")
def systems_add(
    client_id: str,
    department: Annotated[str, typer.Option(help="department code")],
    name: Annotated[str, typer.Option(help="the system's name, e.g. 一窗受理系统")],
    jwk_file: Annotated[Path, typer.Option(help="public JWK or JWK Set file", exists=True)],
) -> None:
    """Register a department system with its public key(s)."""
    loaded = _read_json(jwk_file)
    jwks = loaded if "keys" in loaded else {"keys": [loaded]}
    try:
        data = SystemCreate(
            client_id=client_id, name=name, department=department, jwks=JWKSet(**jwks)
        )
    except ValueError as exc:
        _fail(f"invalid system: {exc}")
    with _database() as (_, factory):
        try:
            with session_scope(factory) as session:
                service.register_system(session, data=data)
        except DomainError as exc:
            _fail(exc.detail, exc.errors)
    typer.echo(f"registered system {client_id} ({department})")


@systems_app.command("list")
def systems_list() -> None:
    """List registered systems."""
    with _database() as (_, factory), factory() as session:
        rows, _ = repository.list_systems(
            session, department_id=None, status=None, offset=0, limit=100_000
        )
        for s in rows:
            kids = ",".join(str(k.get("kid")) for k in s.jwks.get("keys", []))
            typer.echo(f"{s.client_id}\t{s.department.code}\t{s.status}\t{kids}\t{s.name}")


@systems_app.command("keygen")
def systems_keygen(
    client_id: str,
    out: Annotated[Path, typer.Option(help="directory for the key files")] = Path("."),
) -> None:
    """Generate an Ed25519 key pair: the private JWK goes to a 0600 file, the public is printed."""
    private, public = clients.generate_key_pair()
    out.mkdir(parents=True, exist_ok=True)
    private_path = out / f"{client_id}.private.jwk.json"
    public_path = out / f"{client_id}.public.jwk.json"
    if private_path.exists():
        _fail(f"{private_path} exists; refusing to overwrite a private key")
    # Create with 0600 from the start, so the key is never readable by others, even briefly.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(private, f, indent=2)
    public_path.write_text(json.dumps(public, indent=2), encoding="utf-8")
    typer.echo(f"private key: {private_path} (keep it on the system; never send it)", err=True)
    typer.echo(f"public key:  {public_path} (register it with `datarun systems add`)", err=True)
    typer.echo(json.dumps(public))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        _fail(f"{path}: {exc}")
    if not isinstance(loaded, dict):
        _fail(f"{path}: expected a JSON object")
    return loaded
