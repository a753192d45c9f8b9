"""What parsing an import file yields: entries that remember where values came from, and errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS = 500

Location = dict[
    str, Any
]  # {"line": 7, "field": "数据类型"} or {"pointer": "/resources/3/...", "field": ...}


@dataclass
class Entry:
    """One resource read from a file: its Resource JSON and a way to say where a field came from."""

    data: dict[str, Any]
    index: int  # position among the file's resources
    line: int | None = None  # CSV: the resource's first row
    item_lines: list[int] = field(default_factory=list)  # CSV: the row of each 信息项
    locate: Callable[[Entry, tuple[Any, ...]], Location] | None = None

    @property
    def code(self) -> str:
        """Return the resource code as written (empty when missing or not text)."""
        code = self.data.get("code")
        return code if isinstance(code, str) else ""

    def where(self, loc: tuple[Any, ...] = ()) -> Location:
        """Return the file location of the value at pydantic ``loc`` within this entry."""
        assert self.locate is not None
        return self.locate(self, tuple(loc))


class TooManyRows(Exception):
    """The file holds more rows than an import may carry."""


class ErrorList:
    """Errors of one import, capped so a hopeless file cannot produce a huge response."""

    def __init__(self, cap: int = MAX_ERRORS) -> None:
        self.cap = cap
        self.items: list[Location] = []
        self._seen: set[tuple[Any, Any, Any]] = set()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def full(self) -> bool:
        """Return whether the cap is reached."""
        return len(self.items) >= self.cap

    def add(
        self, *, message: str, field: str, line: int | None = None, pointer: str | None = None
    ) -> None:
        """Record one error; the first message for a given place wins (no echoes of one mistake)."""
        key = (line, pointer, field)
        if key in self._seen:
            return
        if self.full:
            return
        self._seen.add(key)
        error: Location = {"line": line} if pointer is None else {"pointer": pointer}
        error.update(field=field, message=message)
        self.items.append(error)

    def at(self, location: Location, message: str) -> None:
        """Record an error at a location an entry gave."""
        self.add(
            message=message,
            field=location["field"],
            line=location.get("line"),
            pointer=location.get("pointer"),
        )

    def too_many(self, message: str) -> None:
        """Stop the import: the file has more rows than allowed."""
        raise TooManyRows(message)

    def summary(self) -> str:
        """Return a one-line account of the errors for a problem's ``detail``."""
        shown = len(self.items)
        if self.full:
            return f"{shown} errors listed, the most one report holds; nothing was imported"
        return f"{shown} error{'s' if shown != 1 else ''} in the file; nothing was imported"
