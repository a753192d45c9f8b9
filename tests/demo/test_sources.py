"""The demo departments' own data: reproducible, valid identifiers, the cast's keys present."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from catalogs.identifiers import resident_id_problem, uscc_problem
from exchange.demo.sources import cast
from exchange.demo.sources.generate import Sources, build_datasets, ensure_sources
from exchange.demo.sources.model import Dataset
from exchange.demo.sources.store import read_rows

PEOPLE = 400


def _by_key(datasets: list[Dataset]) -> dict[str, Dataset]:
    return {d.key: d for d in datasets}


def _column(dataset: Dataset, name: str) -> list[object]:
    i = dataset.column_names.index(name)
    return [row[i] for row in dataset.rows]


@pytest.fixture(scope="module")
def datasets() -> dict[str, Dataset]:
    return _by_key(build_datasets(20261127, PEOPLE))


def test_the_same_seed_gives_the_same_rows_and_another_seed_differs(
    datasets: dict[str, Dataset],
) -> None:
    again = _by_key(build_datasets(20261127, PEOPLE))
    assert {k: d.fingerprint() for k, d in again.items()} == {
        k: d.fingerprint() for k, d in datasets.items()
    }
    other = _by_key(build_datasets(7, PEOPLE))
    assert other.keys() == datasets.keys()
    differing = [k for k in datasets if other[k].fingerprint() != datasets[k].fingerprint()]
    assert differing == list(datasets)
    assert len(datasets["zj-gat.czrk"].rows) == PEOPLE == len(other["zj-gat.czrk"].rows)


def test_every_resident_id_is_valid_and_matches_gender_and_birth_date(
    datasets: dict[str, Dataset],
) -> None:
    people = datasets["zj-gat.czrk"]
    ids = _column(people, "gmsfhm")
    assert len(set(ids)) == len(ids) == PEOPLE
    for id_number, gender, born in zip(
        ids, _column(people, "xb"), _column(people, "csrq"), strict=True
    ):
        assert resident_id_problem(str(id_number)) is None, id_number
        assert str(id_number)[:2] == "33"  # born in 浙江
        assert gender == ("男" if int(str(id_number)[16]) % 2 else "女")
        assert str(id_number)[6:14] == born.strftime("%Y%m%d")  # type: ignore[attr-defined]
    names = _column(people, "xm")
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", str(n)) for n in names)
    assert all(str(a).startswith("浙江省") for a in _column(people, "zz"))


def test_every_id_elsewhere_belongs_to_someone_registered(datasets: dict[str, Dataset]) -> None:
    known = set(_column(datasets["zj-gat.czrk"], "gmsfhm"))
    deceased = set(_column(datasets["zj-mzt.bzhh"], "swzsfzh"))
    assert all(resident_id_problem(str(i)) is None for i in deceased)
    referenced = {
        "zj-mzt.hyzk": ["sfzh"],
        "zj-mzt.hydj": ["nfsfzh", "nvfsfzh"],
        "zj-wjw.csyxzm": ["mqsfzh"],
        "zj-tax.qswsxx": ["nsrsbh"],
        "zj-scjgj.qydjxx": ["fddbrzjhm"],
        "zj-ybj.xsecbdj": ["xsesfzh", "jhrsfzh"],
        "zj-rlsbt.si_person": ["aac002"],
    }
    for key, columns in referenced.items():
        for column in columns:
            assert set(_column(datasets[key], column)) <= known | deceased, (key, column)
    owners = {
        i for v in _column(datasets["zj-zrzyt.bdc_qlxx"], "qlrzjh") for i in str(v).split("、")
    }
    assert owners <= known


def test_every_credit_code_is_valid_and_unique(datasets: dict[str, Dataset]) -> None:
    codes = [str(c) for c in _column(datasets["zj-scjgj.qydjxx"], "tyshxydm")]
    assert len(set(codes)) == len(codes) > 0
    for code in codes:
        assert uscc_problem(code) is None, code
        assert code.startswith("9133")  # 企业, registered in 浙江
    assert set(_column(datasets["zj-gat.yzba"], "tyshxydm")) <= set(codes)


def test_real_estate_identifiers_have_their_standard_shapes(datasets: dict[str, Dataset]) -> None:
    rights = datasets["zj-zrzyt.bdc_qlxx"]
    units = [str(u) for u in _column(rights, "bdcdyh")]
    certs = [str(c) for c in _column(rights, "bdcqzh")]
    assert len(set(units)) == len(units) and len(set(certs)) == len(certs)
    for unit in units:  # GB/T 37346: county 6 + 地籍区/子区 6 + GB + 宗地 5 + F + 8
        assert re.fullmatch(r"33\d{4}\d{6}GB\d{5}F\d{8}", unit), unit
    for cert in certs:
        assert re.fullmatch(r"浙\(20\d\d\)\w{2,4}市不动产权第\d{7}号", cert), cert
    assessed = set(_column(datasets["zj-tax.clfjsjg"], "bdcdyh"))
    assert assessed == set(units)


def test_the_cast_is_in_every_department_it_belongs_to(datasets: dict[str, Dataset]) -> None:
    def has(key: str, column: str, value: str) -> bool:
        return any(
            str(v) == value or value in str(v).split("、") for v in _column(datasets[key], column)
        )

    assert has("zj-gat.czrk", "gmsfhm", cast.SELLER_ID)
    assert has("zj-gat.jmsfz", "gmsfhm", cast.BUYER_ID)
    assert has("zj-zrzyt.bdc_qlxx", "qlrzjh", cast.SELLER_ID)
    assert has("zj-zrzyt.bdc_qlxx", "bdcqzh", cast.PROPERTY_CERT_NO)
    assert has("zj-zrzyt.bdc_dyaq", "bdcqzh", cast.PROPERTY_CERT_NO)
    assert has("zj-zjt.wqba", "bdcqzh", cast.PROPERTY_CERT_NO)
    assert has("zj-tax.clfjsjg", "bdcdyh", cast.UNIT_NO)
    assert has("zj-tax.qswsxx", "nsrsbh", cast.BUYER_ID)
    assert has("zj-tax.grsdsnd", "zjhm", cast.BUYER_ID)
    assert has("zj-mzt.hyzk", "sfzh", cast.SELLER_ID)
    assert has("zj-rlsbt.si_person", "aac002", cast.BUYER_ID)
    assert has("zj-wjw.csyxzm", "mqsfzh", cast.MOTHER_ID)
    assert has("zj-gat.czrk", "gmsfhm", cast.NEWBORN_ID)
    assert has("zj-ybj.xsecbdj", "xsesfzh", cast.NEWBORN_ID)
    assert has("zj-scjgj.qydjxx", "tyshxydm", cast.COMPANY_USCC)
    assert has("zj-gat.yzba", "tyshxydm", cast.COMPANY_USCC)
    assert has("zj-scjgj.mczzsb", "sbh", cast.NAME_DECLARATION_NO)
    assert resident_id_problem(cast.NEWBORN_ID) is None and uscc_problem(cast.COMPANY_USCC) is None


def test_households_and_marriages_hang_together(datasets: dict[str, Dataset]) -> None:
    status = {row[0]: row for row in datasets["zj-mzt.hyzk"].rows}
    seller = status[cast.SELLER_ID]
    assert seller[2] == "已婚" and seller[3] == cast.SELLER_SPOUSE_ID
    assert status[cast.SELLER_SPOUSE_ID][3] == cast.SELLER_ID
    heads = Counter(row[7] for row in datasets["zj-gat.czrk"].rows if row[9] == "户主")
    assert set(heads.values()) == {1}  # one head per household number


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sources, Sources]:
    first = ensure_sources(tmp_path_factory.mktemp("a"), people=PEOPLE)
    second = ensure_sources(tmp_path_factory.mktemp("b"), people=PEOPLE)
    return first, second


def test_written_files_are_byte_identical_and_databases_hold_the_same_rows(
    written: tuple[Sources, Sources], datasets: dict[str, Dataset]
) -> None:
    first, second = written
    assert first.generated and second.generated
    files = sorted(p.relative_to(first.root) for p in first.root.rglob("*.*sv")) + sorted(
        p.relative_to(first.root) for p in first.root.rglob("*.parquet")
    )
    assert len(files) == 7  # 4 CSV exports, 3 Parquet files
    for name in files:
        assert (first.root / name).read_bytes() == (second.root / name).read_bytes(), name
    for key, dataset in datasets.items():
        rows = read_rows(dataset, *first.location(key))
        other = read_rows(dataset, *second.location(key))
        assert len(rows) == len(other) == len(dataset.rows), key
        assert sorted(map(repr, rows)) == sorted(map(repr, other)), key


def test_a_second_run_reuses_the_data(tmp_path: Path) -> None:
    messages: list[str] = []
    first = ensure_sources(tmp_path, people=60, progress=messages.append)
    stamp = (first.root / "manifest.json").stat().st_mtime_ns
    again = ensure_sources(tmp_path, people=60, progress=messages.append)
    assert first.generated and not again.generated
    assert (again.root / "manifest.json").stat().st_mtime_ns == stamp
    assert messages[-1].startswith("demo sources: reusing seed20261127-people60-v1")
    assert again.samples["seller resident ID (公安 户籍/身份证, 民政 婚姻, owns the property)"] == (
        cast.SELLER_ID
    )
    forced = ensure_sources(tmp_path, people=60, force=True)
    assert forced.generated


def test_too_few_people_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 50"):
        build_datasets(1, 10)
