"""What a generated department dataset is, and the deterministic helpers the generators share."""

from __future__ import annotations

import hashlib
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any, Generic, Literal, TypeVar

# Every date in the demo is at or before this day, so the data does not depend on the clock.
AS_OF = date(2026, 10, 31)

ColumnType = Literal["text", "date", "datetime", "int", "decimal", "rate", "bool", "blob"]
Store = Literal["db", "csv", "parquet"]

T = TypeVar("T")


@dataclass(frozen=True)
class Dataset:
    """One table (or file) of a department's own system, in that system's column names.

    ``store`` says where it goes: ``db`` is the department's database (SQL or DuckDB),
    ``csv`` and ``parquet`` are files beside it.
    """

    department: str
    name: str  # table name or file stem: ASCII, the department system's own abbreviation
    title: str
    columns: tuple[tuple[str, ColumnType], ...]
    rows: list[tuple[Any, ...]] = field(repr=False)
    store: Store = "db"
    keys: tuple[str, ...] = ()  # lookup columns to index; the first column when empty

    @property
    def column_names(self) -> list[str]:
        """Return the column names in order."""
        return [name for name, _type in self.columns]

    @property
    def index_columns(self) -> tuple[str, ...]:
        """Return the columns a lookup searches by, which the database indexes."""
        return self.keys or (self.columns[0][0],)

    @property
    def key(self) -> str:
        """Return ``<department>.<name>``, the dataset's name in the manifest and bindings."""
        return f"{self.department}.{self.name}"

    def fingerprint(self) -> str:
        """Return a SHA-256 over the columns and every row, to compare generations."""
        digest = hashlib.sha256(repr(self.columns).encode())
        for row in self.rows:
            digest.update(repr(row).encode())
            digest.update(b"\n")
        return digest.hexdigest()


def sub_rng(seed: int, name: str) -> random.Random:
    """Return a generator of its own for one part of the world, derived from the seed.

    String seeds go through SHA-512 in ``random``, so this is stable across processes and
    adding a new part never shifts the numbers an existing part draws.
    """
    return random.Random(f"datarun-demo:{seed}:{name}")  # noqa: S311 - synthetic data, not secrets


class Weighted(Generic[T]):
    """Values with weights, drawn from a seeded generator (cumulative weights computed once)."""

    def __init__(self, pairs: Sequence[tuple[T, int]]) -> None:
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(accumulate(weight for _value, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        """Return one value, chosen by weight."""
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def weighted(rng: random.Random, pairs: Sequence[tuple[T, int]]) -> T:
    """Return one value of ``(value, weight)`` pairs, chosen by weight."""
    return Weighted(pairs).pick(rng)


def between(rng: random.Random, low: int, high: int) -> int:
    """Return an integer in ``[low, high]`` (a faster ``randint`` for ranges below 2**50)."""
    return low + int(rng.random() * (high - low + 1))


def day_between(rng: random.Random, start: date, end: date) -> date:
    """Return a day in ``[start, end]`` (``start`` when the range is empty)."""
    span = (end - start).days
    return start + timedelta(days=int(rng.random() * (span + 1))) if span > 0 else start


def moment_on(rng: random.Random, day: date) -> datetime:
    """Return a time of day on ``day``, to the minute."""
    return datetime(day.year, day.month, day.day, between(rng, 0, 23), between(rng, 0, 59))


def add_years(day: date, years: int) -> date:
    """Return the same calendar day ``years`` later (28 Feb for 29 Feb in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def money(cents: int) -> Decimal:
    """Return an amount in yuan with two decimals, exactly."""
    return Decimal(cents).scaleb(-2)


def age_on(born: date, day: date = AS_OF) -> int:
    """Return the age in whole years on ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
