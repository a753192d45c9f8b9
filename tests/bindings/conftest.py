"""A catalogue resource and a department database holding its records, for binding tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import Session

from catalogs.resources.models import Resource
from catalogs.resources.schemas import ResourceCreate
from catalogs.resources.service import create_resource
from connectors.testing.sample import COLUMNS, RESOURCE_CODE, SAMPLE_ROWS
from connectors.testing.sql import sample_table
from exchange.core.settings import Settings
from tests.fixtures.factories import create_department

ITEM_TYPES = {
    "id_number": "C",
    "name": "C",
    "birth_date": "D",
    "income": "Y",
    "household_size": "I",
    "address": "C",
    "registered_at": "T",
    "remark": "M",
}


@pytest.fixture
def people_resource(db: Session) -> Resource:
    """Publish 居民户籍信息 (the conformance sample's items), provided by zj-gat."""
    create_department(db, "zj-gat", name="浙江省公安厅")
    create_department(db, "zj-mzt", name="浙江省民政厅")
    data = ResourceCreate(
        code=RESOURCE_CODE,
        name="居民户籍信息",
        provider="zj-gat",
        summary="户籍人口基本信息",
        format="database",
        items=[
            {"code": code, "name": code, "data_type": t, "is_key": code == "id_number"}
            for code, t in ITEM_TYPES.items()
        ],
        share_type="unconditional",
        share_method="api",
        open_type="closed",
        update_cycle="daily",
    )
    resource = create_resource(db, data=data, status="published")
    db.commit()
    return resource


@pytest.fixture
def department_db(settings: Settings) -> Path:
    """The 公安 population register: a SQLite file under the hub's data_dir."""
    path = settings.data_dir / "departments" / "gat.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    table = sample_table(MetaData(), "rk")
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), [dict(r) for r in SAMPLE_ROWS])
    engine.dispose()
    return path


def body(path: Path, **overrides: Any) -> dict[str, Any]:
    """Return a PUT body binding the sample resource to the SQLite table ``rk``."""
    return {
        "adapter": "sql",
        "config": {"url": f"sqlite:///{path}", "table": "rk"},
        "key_item": "id_number",
        "columns": dict(COLUMNS),
        **overrides,
    }
