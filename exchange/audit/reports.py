"""DuckDB reports over the Parquet exports, after checking their signed manifests.

- ``top-consumers``: per resource, the departments' systems that pulled it most;
- ``no-case``: pulls made with no case id (who, for which purpose, how many);
- ``off-hours``: pulls outside 08:30–17:30 China time or on a non-working day (法定节假日
  and weekends, with 调休 make-up days counted as working, from ``grants.workdays``);
- ``denial-spikes``: hours whose denials reach a threshold or a z-score over all hours;
- ``subject``: one data subject's access history (the raw key is HMAC'd, then matched).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from exchange.audit.export import file_sha256
from exchange.audit.rules import (
    export_key,
    public_from_jwk,
    signature_valid,
    statement_hash,
    subject_hmac,
)
from exchange.core.errors import Conflict, InvalidInput, NotFound

REPORTS = ("top-consumers", "no-case", "off-hours", "denial-spikes", "subject")


@dataclass(frozen=True)
class Report:
    """A report's result: column names and rows."""

    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def check_exports(directory: Path) -> list[str]:
    """Check every manifest's signature, its file's SHA-256 and the manifests' chain."""
    problems: list[str] = []
    jwks = {}
    for path in sorted((directory / "keys").glob("*.json")):
        jwk = json.loads(path.read_text(encoding="utf-8"))
        jwks[jwk["kid"]] = public_from_jwk(jwk)
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in directory.glob("*.manifest.json")]
    previous: dict[str, Any] | None = None
    for doc in sorted(docs, key=lambda d: d["manifest"]["from_seq"]):
        manifest = doc["manifest"]
        name = manifest["file"]
        public = jwks.get(manifest.get("key_id"))
        if public is None or not signature_valid(public, manifest, doc.get("signature", "")):
            problems.append(f"{name}: manifest signature invalid")
        target = directory / name
        if not target.is_file() or file_sha256(target) != manifest["sha256"]:
            problems.append(f"{name}: file missing or altered (SHA-256 differs)")
        if previous is not None:
            if manifest["previous_manifest"] != statement_hash(previous["manifest"]):
                problems.append(f"{name}: does not link to the previous manifest")
            if manifest["chain_before"] != previous["manifest"]["chain_head"]:
                problems.append(f"{name}: does not continue the previous export's chain")
        previous = doc
    return problems


def connect(directory: Path, *, check: bool = True) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with a view ``log`` over the exports in ``directory``."""
    if not any(directory.glob("audit-*.parquet")):
        raise NotFound(f"no exports in {directory}: run `datarun audit export --out DIR`")
    if check and (problems := check_exports(directory)):
        raise Conflict("the exports do not verify: " + "; ".join(problems))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    pattern = str(directory / "audit-*.parquet").replace("'", "''")
    con.execute(f"CREATE VIEW log AS SELECT * FROM read_parquet('{pattern}')")  # noqa: S608
    return con


def _working_days(con: duckdb.DuckDBPyConnection) -> None:
    try:
        from exchange.grants.workdays import is_working_day
    except ImportError:  # pragma: no cover - the grants domain ships with the hub

        def is_working_day(day: date) -> bool:
            return day.weekday() < 5

    local_days = 'SELECT DISTINCT ("at"::TIMESTAMP + INTERVAL 8 HOUR)::DATE FROM log'
    days = [r[0] for r in con.execute(local_days).fetchall()]
    con.execute("CREATE TEMP TABLE IF NOT EXISTS days (day DATE, working BOOLEAN)")
    con.execute("DELETE FROM days")
    if days:
        con.executemany("INSERT INTO days VALUES (?, ?)", [(d, is_working_day(d)) for d in days])


_TOP_CONSUMERS = """
    SELECT resource_code, department, system, pulls, subjects FROM (
      SELECT resource_code, department, system, count(*) AS pulls,
             count(DISTINCT subject_hmac) AS subjects,
             row_number() OVER (PARTITION BY resource_code
                                ORDER BY count(*) DESC, department, system) AS rank
      FROM log WHERE decision IN ('allowed', 'partial')
      GROUP BY resource_code, department, system)
    WHERE rank <= ? ORDER BY resource_code, pulls DESC, department, system"""
_NO_CASE = """
    SELECT department, system, purpose, count(*) AS pulls,
           min("at") AS first_at, max("at") AS last_at
    FROM log WHERE decision IN ('allowed', 'partial') AND case_id IS NULL
    GROUP BY department, system, purpose ORDER BY pulls DESC, department, system
    LIMIT ?"""
# China Standard Time has had no daylight saving since 1991: UTC+8 all year.
_OFF_HOURS = """
    WITH pulls AS (
      SELECT *, ("at"::TIMESTAMP + INTERVAL 8 HOUR) AS local
      FROM log WHERE decision IN ('allowed', 'partial'))
    SELECT seq, strftime(local, '%Y-%m-%d %H:%M:%S') AS local_time, department, system,
           resource_code, purpose, case_id,
           CASE WHEN NOT d.working THEN 'non-working day'
                WHEN local::TIME < TIME '08:30' THEN 'before 08:30'
                ELSE 'after 17:30' END AS why
    FROM pulls JOIN days d ON d.day = local::DATE
    WHERE NOT d.working OR local::TIME < TIME '08:30' OR local::TIME >= TIME '17:30'
    ORDER BY seq LIMIT ?"""
_DENIAL_SPIKES = """
    WITH hours AS (
      SELECT range AS hour FROM range(
        (SELECT date_trunc('hour', min("at")) FROM log),
        (SELECT date_trunc('hour', max("at")) FROM log) + INTERVAL 1 HOUR,
        INTERVAL 1 HOUR)),
    counts AS (
      SELECT date_trunc('hour', "at") AS hour, count(*) AS total,
             count(*) FILTER (WHERE decision = 'denied') AS denied
      FROM log GROUP BY 1),
    h AS (SELECT hours.hour, coalesce(total, 0) AS total, coalesce(denied, 0) AS denied
          FROM hours LEFT JOIN counts USING (hour)),
    s AS (SELECT avg(denied) AS m, stddev_pop(denied) AS sd FROM h)
    SELECT hour, denied, total, round((denied - m) / nullif(sd, 0), 2) AS z
    FROM h, s
    WHERE denied > 0 AND (denied >= ? OR (denied - m) / nullif(sd, 0) >= ?)
    ORDER BY hour LIMIT ?"""
_SUBJECT = """
    SELECT seq, "at", department, system, provider, resource_code, items_returned,
           purpose, case_id, decision
    FROM log WHERE subject_hmac = ? ORDER BY seq LIMIT ?"""


def run(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    limit: int = 20,
    threshold: int | None = None,
    z: float = 3.0,
    subject: str | None = None,
    secret: str | None = None,
) -> Report:
    """Run report ``name`` on an open connection (see ``connect``)."""
    params: list[Any] = [limit]
    if name == "top-consumers":
        sql = _TOP_CONSUMERS
    elif name == "no-case":
        sql = _NO_CASE
    elif name == "off-hours":
        _working_days(con)
        sql = _OFF_HOURS
    elif name == "denial-spikes":
        sql = _DENIAL_SPIKES
        params = [threshold if threshold is not None else 2**62, z, limit]
    elif name == "subject":
        if not subject or not secret:
            raise InvalidInput(
                "the subject report needs the subject's key",
                errors=[{"field": "subject", "message": "required"}],
            )
        sql = _SUBJECT
        params = [subject_hmac(export_key(secret), subject.strip()), limit]
    else:
        raise NotFound(f"no report {name!r}; reports: {', '.join(REPORTS)}")
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return Report(name, columns, cursor.fetchall())
