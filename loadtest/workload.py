"""What the load asks: record pulls of 二手房交易过户's resources, and its applications.

The pulls are the ones the demo window system of 自然资源厅 (``zj-zrzyt-window``) makes for
二手房交易过户 (esf-transfer): one kind per pullable material (resource, items, purpose),
keyed by people and properties that exist in the generated departments' data. The
applications are esf-transfer submissions: a seller who owns a property alone (from the
不动产 register) sells it to a buyer drawn from the 公安 data; one in ten is the demo's cast
(陈建国 selling to 王晓明), whose every material is found.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlalchemy import text

from exchange.core.db import make_engine
from exchange.demo.seed import load_province
from exchange.demo.sources import cast
from exchange.demo.sources.generate import Sources

ONE_THING = "esf-transfer"
WINDOW = "zj-zrzyt-window"
KEY_KINDS = ("resident_id", "property_cert_no", "unit_no")
BUYER_MATERIALS = (
    "buyer_id",
    "buyer_social_insurance",
    "buyer_tax_record",
    "purchase_eligibility",
    "deed_tax_receipt",
)
_PEOPLE_LIMIT = 20_000


@dataclass(frozen=True)
class PullKind:
    """One kind of pull: a material's items of a resource, for its purpose, by a key kind."""

    material: str
    resource: str
    items: tuple[str, ...]
    purpose: str
    key_kind: str


@dataclass(frozen=True)
class Property:
    """A property held by one owner: who may sell it."""

    cert_no: str
    unit_no: str
    owner_id: str


@dataclass(frozen=True)
class Request:
    """One HTTP request to make (path relative to a hub's base URL)."""

    kind: str  # pull (POST batch) or pull-get (GET, one key)
    method: str
    path: str
    body: dict[str, Any] | None
    params: dict[str, str] | None
    keys: int


class Workload:
    """Keys from the departments' data and the pull kinds of esf-transfer."""

    def __init__(
        self,
        kinds: list[PullKind],
        people: list[tuple[str, str]],
        properties: list[Property],
    ) -> None:
        self.kinds = kinds
        self.people = people  # (resident id, name)
        self.names = dict(people)
        self.properties = properties
        self.keys: dict[str, list[str]] = {
            "resident_id": [p[0] for p in people],
            "property_cert_no": [p.cert_no for p in properties],
            "unit_no": [p.unit_no for p in properties],
        }

    def keep(self, materials: set[str]) -> None:
        """Keep only the pull kinds of these materials (those the probe found pullable)."""
        self.kinds = [k for k in self.kinds if k.material in materials]

    def pull(self, rng: random.Random) -> Request:
        """Return a random pull: a batch POST of 1–3 keys (three in four), else a GET."""
        kind = rng.choice(self.kinds)
        pool = self.keys[kind.key_kind]
        path = f"/v1/records/{kind.resource}"
        if rng.random() < 0.25:
            params = {"key": rng.choice(pool), "items": ",".join(kind.items)}
            params["purpose"] = kind.purpose
            return Request("pull-get", "GET", path, None, params, 1)
        count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        keys = list(dict.fromkeys(rng.choice(pool) for _ in range(count)))
        body = {"keys": keys, "items": list(kind.items), "purpose": kind.purpose}
        return Request("pull", "POST", f"{path}/lookup", body, None, len(keys))

    def probe(self, kind: PullKind) -> Request:
        """Return a pull of one kind by the cast's key (it exists when the binding works)."""
        key = {
            "resident_id": cast.BUYER_ID,
            "property_cert_no": cast.PROPERTY_CERT_NO,
            "unit_no": cast.UNIT_NO,
        }[kind.key_kind]
        if kind.material.startswith("seller"):
            key = cast.SELLER_ID
        body = {"keys": [key], "items": list(kind.items), "purpose": kind.purpose}
        return Request("pull", "POST", f"/v1/records/{kind.resource}/lookup", body, None, 1)

    def application(self, rng: random.Random) -> dict[str, Any]:
        """Return an esf-transfer submission (one in ten is the cast's, fully found)."""
        if rng.random() < 0.1 or not self.properties:
            seller, name = cast.SELLER_ID, "陈建国"
            cert, unit, buyer = cast.PROPERTY_CERT_NO, cast.UNIT_NO, cast.BUYER_ID
        else:
            home = rng.choice(self.properties)
            seller, cert, unit = home.owner_id, home.cert_no, home.unit_no
            name = self.names.get(seller, "申请人")
            buyer = seller
            while buyer == seller:
                buyer = rng.choice(self.people)[0]
        return {
            "one_thing": ONE_THING,
            "applicant": {
                "kind": "person",
                "name": name,
                "identifiers": {
                    "resident_id": seller,
                    "property_cert_no": cert,
                    "unit_no": unit,
                },
            },
            "material_keys": dict.fromkeys(BUYER_MATERIALS, buyer),
            "consent_to_fetch": True,
            "files": [],
            "pending": [],
        }


def pull_kinds(one_thing: str = ONE_THING) -> list[PullKind]:
    """Return one pull kind per pullable material of the one-thing (as the demo defines it)."""
    found = next(o for o in load_province().one_things if o.code == one_thing)
    kinds: dict[tuple[str, tuple[str, ...], str], PullKind] = {}
    for m in found.materials:
        if m.kind != "pullable" or not m.resource_code or m.key_identifier not in KEY_KINDS:
            continue
        purpose = m.service_item or one_thing
        items = tuple(m.items)
        kinds.setdefault(
            (m.resource_code, items, purpose),
            PullKind(m.code, m.resource_code, items, purpose, str(m.key_identifier)),
        )
    return list(kinds.values())


def load_workload(sources: Sources) -> Workload:
    """Read keys (people, single-owner properties) from the generated departments' data."""
    _kind, where = sources.location("zj-gat.jmsfz")  # a SQLAlchemy URL (SQLite or a server)
    engine = make_engine(where)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT gmsfhm, xm FROM jmsfz ORDER BY gmsfhm LIMIT :n"), {"n": _PEOPLE_LIMIT}
            )
            people = [(str(r[0]), str(r[1])) for r in found]
    finally:
        engine.dispose()
    _kind, path = sources.location("zj-zrzyt.bdc_qlxx")
    with duckdb.connect(path, read_only=True) as conn:
        rows = conn.execute(
            "SELECT bdcqzh, bdcdyh, qlrzjh FROM bdc_qlxx WHERE length(qlrzjh) = 18 ORDER BY 1"
        ).fetchall()
    properties = [Property(str(r[0]), str(r[1]), str(r[2])) for r in rows]
    return Workload(pull_kinds(), people, properties)
