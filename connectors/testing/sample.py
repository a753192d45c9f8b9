"""The canonical sample source every adapter's conformance test loads into its backend.

21 rows of a population register: 20 people with valid 18-digit resident ID numbers
(GB 11643 check digit, one ending in X), Chinese names (one with a 4-byte character, 𠮷),
NULLs, dates, decimals and timestamps, plus one dirty row whose key is an injection string
(``' OR 1=1--``): a lookup of that exact key must return that row and nothing else.

Source column names (``sfzh``, ``xm`` …: pinyin initials, as department systems often name
them) differ from the catalogue's item codes, so a test also proves the mapping is applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import duckdb

Kind = Literal["text", "date", "datetime", "decimal", "integer"]

RESOURCE_CODE = "301001001/000001"


@dataclass(frozen=True)
class SampleColumn:
    """One column of the sample: catalogue item code, source column name and value kind."""

    item: str
    column: str
    kind: Kind


SAMPLE_COLUMNS: tuple[SampleColumn, ...] = (
    SampleColumn("id_number", "sfzh", "text"),  # the lookup key: 公民身份号码
    SampleColumn("name", "xm", "text"),  # 姓名
    SampleColumn("birth_date", "csrq", "date"),  # 出生日期
    SampleColumn("income", "nsr", "decimal"),  # 月收入, DECIMAL(12,2)
    SampleColumn("household_size", "hrs", "integer"),  # 户内人数
    SampleColumn("address", "zz", "text"),  # 住址
    SampleColumn("registered_at", "djsj", "datetime"),  # 登记时间 (no time zone, whole seconds)
    SampleColumn("remark", "bz", "text"),  # 备注: never requested by the projection tests
)
KEY_ITEM = "id_number"
KEY_COLUMN = "sfzh"
COLUMNS: dict[str, str] = {c.item: c.column for c in SAMPLE_COLUMNS}  # item → column
TEXT_LENGTHS = {"sfzh": 64, "xm": 50, "zz": 200, "bz": 200}  # for typed VARCHAR columns

# Portable type names for loaders: SQL (via SQLAlchemy) and DuckDB.
DUCKDB_TYPES: dict[Kind, str] = {
    "text": "VARCHAR",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "decimal": "DECIMAL(12,2)",
    "integer": "INTEGER",
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(body: str) -> str:
    """Append the GB 11643 (ISO 7064 MOD 11-2) check digit to a 17-digit body."""
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


_PEOPLE: tuple[tuple[str, str, str | None, str | None, int | None, str | None], ...] = (
    # (17-digit body, 姓名, 月收入, 住址, 户内人数, 备注)
    ("33010219490101001", "张伟", "8234.50", "浙江省杭州市上城区解放路 1 号", 3, None),
    (
        "33010619850312108",
        "王芳",
        "12000.00",
        "浙江省杭州市西湖区文三路 90 号",
        2,
        "身份证号末位为 X",
    ),
    ("33020319700215002", "李娜", None, None, None, None),
    ("33030219951130003", "刘洋", "0.00", "浙江省温州市鹿城区五马街 7 号", 1, None),
    ("33040219881008004", "陈静", "1234567890.12", "浙江省嘉兴市南湖区", 4, "高收入"),
    ("33050219600606005", "杨磊", "5600.00", "浙江省湖州市吴兴区", None, None),
    ("33060219770707006", "赵敏", "7300.25", "浙江省绍兴市越城区鲁迅路 3 号", 2, None),
    ("33070219831111007", "黄晓明", "9100.75", "浙江省金华市婺城区", 5, None),
    ("33080219920229008", "周杰", "4400.00", "浙江省衢州市柯城区", 3, None),
    ("33090219990909009", "吴婷", "3900.10", "浙江省舟山市定海区", 1, None),
    ("33100219540101010", "徐海", "2100.00", "浙江省台州市椒江区", 2, None),
    ("33110219660303011", "孙丽", "6200.00", "浙江省丽水市莲都区", 3, None),
    ("33010219720404012", "马超", "8800.80", "浙江省杭州市上城区", None, None),
    ("33010619800505013", "朱琳", "15000.00", "浙江省杭州市西湖区", 2, None),
    ("33020319910616014", "胡军", "10100.00", "浙江省宁波市海曙区", 4, None),
    ("33030219870717015", "郭靖", "5000.00", "浙江省温州市鹿城区", 3, "备注里有 ; 和 -- 和 '引号'"),
    ("33040220011231016", "欧阳娜娜", "3000.00", "浙江省嘉兴市南湖区", 1, None),
    ("33050219580818017", "司马懿", "2500.00", "浙江省湖州市吴兴区", 6, None),
    ("33060220050101018", "林𠮷", "1800.00", "浙江省绍兴市越城区𠮷祥路 8 号", 2, "4 字节汉字"),
    ("33070219931020019", "诸葛亮", None, "O'Brien 路 “引号” 9 号", None, None),
)

INJECTION_KEY = "' OR 1=1--"  # a real (dirty) row has exactly this key

# Keys that must match nothing and break nothing (bound parameters only).
INJECTION_PROBES: tuple[str, ...] = (
    "' OR '1'='1",
    "1' OR 1=1--",
    "'; DROP TABLE people;--",
    "1; SELECT 1",
    '" OR ""="',
    "\\' OR 1=1 -- ",
    "%",
    "_",
    "*",
    "\x00",
    "330102194901010017\x00' OR 1=1--",
    "‘ OR 1=1--",  # unicode quotes that some collations fold onto ASCII quotes
    "’ OR ’1’=’1",
    "“ OR ”1”=”1",
    "' UNION SELECT NULL--",
    "?",
    ":keys",
    "$1",
)


def _row(index: int, person: tuple[Any, ...]) -> dict[str, Any]:
    body, name, income, address, household, remark = person
    born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    return {
        "sfzh": resident_id(body),
        "xm": name,
        "csrq": born,
        "nsr": Decimal(income) if income is not None else None,
        "hrs": household,
        "zz": address,
        "djsj": datetime(2020, 1 + index % 12, 1 + index, 8 + index % 10, index * 2, index),
        "bz": remark,
    }


SAMPLE_ROWS: tuple[dict[str, Any], ...] = (
    *(_row(i, p) for i, p in enumerate(_PEOPLE)),
    {
        "sfzh": INJECTION_KEY,
        "xm": "脏数据",
        "csrq": None,
        "nsr": None,
        "hrs": None,
        "zz": None,
        "djsj": datetime(2021, 6, 1, 0, 0, 0),
        "bz": "a row whose key is an injection string",
    },
)
PEOPLE_KEYS: tuple[str, ...] = tuple(r["sfzh"] for r in SAMPLE_ROWS[: len(_PEOPLE)])
MISSING_KEY = resident_id("33010219490101099")  # valid, but nobody in the sample has it


def expected_record(key: str, items: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Return the record (item code → value) a lookup of ``key`` must yield for ``items``."""
    row = next(r for r in SAMPLE_ROWS if r[KEY_COLUMN] == key)
    wanted = [KEY_ITEM, *(items if items is not None else COLUMNS)]
    return {item: row[COLUMNS[item]] for item in dict.fromkeys(wanted)}


def write_duckdb_sample(database: duckdb.DuckDBPyConnection, table: str = "people") -> None:
    """Create ``table`` in a DuckDB database with the sample's typed columns and rows."""
    columns = ", ".join(f"{c.column} {DUCKDB_TYPES[c.kind]}" for c in SAMPLE_COLUMNS)
    database.execute(f"CREATE TABLE {table} ({columns})")
    placeholders = ", ".join("?" for _ in SAMPLE_COLUMNS)
    database.executemany(
        f"INSERT INTO {table} VALUES ({placeholders})",  # noqa: S608 (names are constants)
        [[row[c.column] for c in SAMPLE_COLUMNS] for row in SAMPLE_ROWS],
    )
