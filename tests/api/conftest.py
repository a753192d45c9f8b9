"""A hub with the demo province, bound and granted, for fuzzing its whole OpenAPI document.

One hub per backend for the module (fuzzing is hundreds of requests; rebuilding the
province per operation would cost minutes): SQLite always, PostgreSQL when configured.
Callers: each operation is called as the identity that may use it (a window system for
data routes, a back-office system for tasks, a citizen for the tracker, the province
administrator for everything else), so the fuzzer reaches the code behind the checks.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm
from schemathesis.python import asgi

from exchange.app import create_app
from exchange.core.settings import Settings
from exchange.demo.seed import seed_demo
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment
from exchange.demo.sources.generate import Sources
from exchange.identity.tokens import issue_access_token
from tests.conftest import POSTGRES_URL, _truncate_postgres

ISSUER = "https://puser.zjzwfw.gov.cn"


@dataclass(frozen=True)
class Callers:
    """Bearer headers of the identities the fuzzer calls with."""

    window: dict[str, str]
    backoffice: dict[str, str]
    citizen: dict[str, str]
    admin: dict[str, str]

    def for_path(self, path: str) -> dict[str, str]:
        """Return the headers of the identity that may call ``path``."""
        if path.startswith(("/v1/records", "/v1/applications")):
            return self.window
        if path.startswith("/v1/tasks"):
            return self.backoffice
        if path.startswith("/v1/tracker"):
            return self.citizen
        return self.admin


def _citizen_idp(where: Path) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="fuzz-1", use="sig", alg="ES256")
    path = where / "citizen-jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, path


@pytest.fixture(scope="module", params=["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"])
def fuzz_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_sources: Sources,
    demo_department: HttpDepartment,
) -> Iterator[tuple[FastAPI, Callers]]:
    """The demo hub on a fresh database, and the callers' headers."""
    tmp = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp / "hub.db")
        url = f"sqlite:///{tmp / 'hub.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    key, jwks = _citizen_idp(tmp)
    settings = Settings(
        environment="test",
        database_url=url,
        data_dir=tmp / "var",
        issuer="http://testserver",
        connector_http_allowlist=["127.0.0.1:*"],
        connector_file_roots=[demo_sources.root.parent, tmp / "var"],
        citizen_idp_issuer=ISSUER,
        citizen_idp_jwks_file=jwks,
        rate_limit_per_second=0,  # one caller sends everything: quotas are tested elsewhere
        token_rate_limit_per_second=0,
    )
    app = create_app(settings)
    with app.state.sessionmaker() as session:
        seed_demo(
            session,
            key_dir=settings.data_dir / "demo-keys",
            sources=demo_sources,
            settings=settings,
            http=demo_department,
        )
        session.commit()
    app.state.authorizer.reload()

    def system(client_id: str, department: str) -> dict[str, str]:
        token, _ = issue_access_token(
            app.state.keyring,
            settings,
            subject=client_id,
            kind="system",
            department=department,
            roles=["system"],
            client_id=client_id,
            ttl_seconds=3600,
        )
        return {"Authorization": f"Bearer {token}"}

    admin, _ = issue_access_token(
        app.state.keyring,
        settings,
        subject="user:province-admin",
        kind="user",
        department="zj-dsj",
        roles=["province_admin"],
        ttl_seconds=3600,
    )
    now = int(time.time())
    citizen = jwt.encode(
        {
            "iss": ISSUER,
            "aud": settings.citizen_idp_audience,
            "sub": "zlb-fuzz",
            "iat": now,
            "exp": now + 3600,
            "jti": "fuzz-citizen",
            "id_number": cast.SELLER_ID,
        },
        key,
        algorithm="ES256",
        headers={"kid": "fuzz-1"},
    )
    callers = Callers(
        window=system("zj-zrzyt-window", "zj-zrzyt"),
        backoffice=system("zj-zrzyt-backoffice", "zj-zrzyt"),
        citizen={"Authorization": f"Bearer {citizen}"},
        admin={"Authorization": f"Bearer {admin}"},
    )
    yield app, callers
    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan on its first call
    app.state.engine.dispose()
    if request.param == "postgres":
        _truncate_postgres(url)


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[FastAPI, Callers]) -> schemathesis.BaseSchema:
    """The hub's OpenAPI document, loaded from the app in-process (ASGI)."""
    app, _ = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def callers(fuzz_app: tuple[FastAPI, Callers]) -> Callers:
    """The callers' headers."""
    return fuzz_app[1]
