"""Pure binding rules: secrets kept apart from config, mapping checks, file roots."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, SecretStr

from exchange.bindings.rules import (
    MASK,
    mapping_problems,
    masked_paths,
    merge_secrets,
    missing_column_problems,
    outside_roots,
    split_secrets,
)


class Auth(BaseModel):
    header: str
    token: SecretStr


class Config(BaseModel):
    url: SecretStr
    table: str
    auth: Auth
    headers: dict[str, SecretStr]
    tags: list[str]


def test_secrets_are_split_out_masked_and_merged_back() -> None:
    config = Config(
        url=SecretStr("postgresql://u:pw@h/db"),
        table="rk",
        auth=Auth(header="X-Api-Key", token=SecretStr("t0k")),
        headers={"X-Extra": SecretStr("h1")},
        tags=["a"],
    )
    shown, secrets = split_secrets(config)
    assert shown == {
        "url": MASK,
        "table": "rk",
        "auth": {"header": "X-Api-Key", "token": MASK},
        "headers": {"X-Extra": MASK},
        "tags": ["a"],
    }
    assert sorted(secrets) == [
        (("auth", "token"), "t0k"),
        (("headers", "X-Extra"), "h1"),
        (("url",), "postgresql://u:pw@h/db"),
    ]
    assert Config.model_validate(merge_secrets(shown, secrets)) == config
    assert shown["url"] == MASK  # merging copies
    assert sorted(masked_paths(shown)) == [("auth", "token"), ("headers", "X-Extra"), ("url",)]


def test_mapping_problems_name_each_field() -> None:
    items = ["id_number", "name"]
    assert mapping_problems(items, "id_number", {"id_number": "sfzh", "name": "xm"}) == []
    problems = mapping_problems(items, "id_number", {"name": "xm", "age": "nl"})
    assert [p["field"] for p in problems] == ["columns.age", "key_item"]
    assert mapping_problems(items, "uscc", {"id_number": "sfzh"})[0]["field"] == "key_item"
    missing = missing_column_problems({"id_number": "sfzh", "name": "XM"}, ["sfzh", "xm"])
    assert missing == [{"field": "columns.name", "message": "the source has no column 'XM'"}]


def test_paths_must_stay_under_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "departments"
    (root / "tax").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    inside = [str(root / "tax" / "*.parquet"), str(root / "tax" / "2026" / "**" / "*.csv")]
    assert outside_roots(inside, [root]) == []
    outside = [
        str(root / ".." / "secret" / "x.csv"),
        str(root / "escape" / "x.csv"),  # a symlink out of the root
        str(tmp_path / "departments-evil" / "x.csv"),  # a sibling sharing the prefix
        "/etc/passwd",
    ]
    assert outside_roots(outside, [root]) == outside
