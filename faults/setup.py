"""Put the demo HTTP department behind fault proxies and give one window system grants.

The demo province's 人社厅 (zj-rlsbt) answers over HTTP for two resources; each gets a
proxy of its own (so one can fail while the other answers), a short HTTP timeout, and a
resilience policy small enough for the matrix to see breakers open and recover in
seconds. 自然资源厅's window system is granted id_number and name of both for 转移登记.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from exchange.bindings.service import put_binding
from exchange.core.errors import DomainError
from exchange.core.settings import Settings
from exchange.demo.sources import cast
from exchange.demo.sources.bindings import HttpDepartment, binding_body, load_bindings
from exchange.demo.sources.generate import Sources
from exchange.grants.decisions import approve
from exchange.grants.schemas import Approval, GrantCreate
from exchange.grants.service import request_grant
from faults.proxy import BackgroundProxy
from faults.traffic import Source

HTTP_RESOURCES = ("306001001/000001", "306002001/000002")  # 社会保险参保信息, 社会保障卡信息
PROVIDER = "zj-rlsbt"
CONSUMER = "zj-zrzyt"
SYSTEM = "zj-zrzyt-window"
PURPOSE = "330000-ZR-001"  # 转移登记
ITEMS = ("id_number", "name")
KEY = cast.BUYER_ID  # the buyer has 社保 records

HTTP_TIMEOUT_SECONDS = 0.8
DEADLINE_SECONDS = 2.0
BREAKER_COOLDOWN_SECONDS = 1.0
RESILIENCE = {
    "deadline_seconds": DEADLINE_SECONDS,
    "retries": 2,
    "breaker_failures": 3,
    "breaker_cooldown_seconds": BREAKER_COOLDOWN_SECONDS,
}


def bind_through(
    session: Session,
    *,
    settings: Settings,
    sources: Sources,
    proxies: Mapping[str, BackgroundProxy],
    api_key: str,
) -> None:
    """Bind each HTTP resource to the department through its proxy (flush; caller commits)."""
    specs = {spec.resource: spec for spec in load_bindings()}
    for code, proxy in proxies.items():
        http = HttpDepartment(base_url=proxy.url, api_key=api_key)
        body = binding_body(specs[code], sources, http)
        if body is None:
            raise RuntimeError(f"{code} is not an HTTP resource of the demo")
        config = {**body.config, "timeout_seconds": HTTP_TIMEOUT_SECONDS}
        data = body.model_copy(update={"config": config, "resilience": dict(RESILIENCE)})
        put_binding(session, code=code, data=data, settings=settings, verify=False)


def grant_pulls(session: Session, *, settings: Settings) -> None:
    """Grant the window system ITEMS of every HTTP resource for PURPOSE (approved)."""
    for code in HTTP_RESOURCES:
        create = GrantCreate(
            consumer=CONSUMER,
            resource=code,
            items=list(ITEMS),
            purposes=[PURPOSE],
            need="故障注入演练：核验购房人社保信息",
        )
        try:
            grant = request_grant(session, data=create, actor=None, authz=None, settings=settings)
        except DomainError:  # already granted (a rerun on the same database)
            continue
        if grant.status == "pending":
            approve(
                session,
                grant_id=grant.id,
                data=Approval(reason="演练：提供方同意"),
                actor=None,
                authz=None,
            )


def sources_of(proxies: Mapping[str, BackgroundProxy]) -> list[Source]:
    """Return the matrix's sources, one per proxied resource."""
    return [Source(code, proxy, KEY, ITEMS) for code, proxy in proxies.items()]
