"""Server-side charts: pure functions that lay out bars; templates draw them as SVG.

No JavaScript and no chart library: the console works on a machine with no internet, and
a chart is plain markup a screen reader and a test can read (each bar has a ``<title>``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

MAX_COLUMN_WIDTH = 36.0


@dataclass(frozen=True)
class Segment:
    """One coloured part of a bar."""

    name: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bar:
    """One bar: its axis label (may be blank), total, segments and full name (tooltip)."""

    label: str
    total: int
    segments: list[Segment] = field(default_factory=list)
    label_x: float = 0.0
    label_y: float = 0.0
    title: str = ""


@dataclass(frozen=True)
class Chart:
    """A laid-out bar chart: the viewBox size, the bars, and the scale's top value."""

    width: int
    height: int
    bars: list[Bar]
    top: int
    horizontal: bool
    segments: list[str]

    @property
    def empty(self) -> bool:
        """Return whether there is nothing to draw."""
        return self.top == 0


def nice_top(value: int) -> int:
    """Return a round scale maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 0
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def stacked_columns(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    segments: Sequence[str],
    *,
    width: int = 720,
    height: int = 220,
    label_every: int = 1,
) -> Chart:
    """Lay out vertical stacked columns (e.g. entries per day, split by decision)."""
    top = nice_top(max((sum(v.get(s, 0) for s in segments) for _, v in rows), default=0))
    plot_top, plot_bottom, left = 10.0, height - 24.0, 40.0
    plot_height = plot_bottom - plot_top
    slot = (width - left - 10) / max(len(rows), 1)
    bar_width = min(slot * 0.8, MAX_COLUMN_WIDTH)
    bars = []
    for i, (label, values) in enumerate(rows):
        x = left + i * slot + (slot - bar_width) / 2
        y = plot_bottom
        parts = []
        for name in segments:
            value = values.get(name, 0)
            h = plot_height * value / top if top else 0.0
            y -= h
            parts.append(
                Segment(name, value, round(x, 1), round(y, 1), round(bar_width, 1), round(h, 1))
            )
        shown = label if i % label_every == 0 else ""
        bars.append(
            Bar(
                shown,
                sum(values.get(s, 0) for s in segments),
                parts,
                round(x + bar_width / 2, 1),
                height - 8.0,
                label,
            )
        )
    return Chart(width, height, bars, top, False, list(segments))


def stacked_rows(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    segments: Sequence[str],
    *,
    width: int = 720,
    row_height: int = 22,
) -> Chart:
    """Lay out horizontal stacked bars, one per row (e.g. entries per department)."""
    top = nice_top(max((sum(v.get(s, 0) for s in segments) for _, v in rows), default=0))
    left, right = 150.0, 60.0
    plot_width = width - left - right
    height = row_height * max(len(rows), 1) + 10
    bars = []
    for i, (label, values) in enumerate(rows):
        y = 5 + i * row_height
        x = left
        parts = []
        for name in segments:
            value = values.get(name, 0)
            w = plot_width * value / top if top else 0.0
            parts.append(
                Segment(name, value, round(x, 1), float(y), round(w, 1), float(row_height - 6))
            )
            x += w
        bars.append(
            Bar(
                label,
                sum(values.get(s, 0) for s in segments),
                parts,
                left - 6,
                y + row_height / 2 + 1,
                label,
            )
        )
    return Chart(width, height, bars, top, True, list(segments))


def days_back(today: date, days: int) -> list[str]:
    """Return the ISO dates of the ``days`` days ending ``today``, oldest first."""
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def pivot(
    counts: Sequence[tuple[str, str, int]], labels: Sequence[str] | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Turn (label, segment, n) rows into [(label, {segment: n})], in ``labels`` order if given.

    Without ``labels`` the rows come biggest total first.
    """
    table: dict[str, dict[str, int]] = {}
    for label, segment, n in counts:
        table.setdefault(label, {})
        table[label][segment] = table[label].get(segment, 0) + n
    if labels is not None:
        return [(label, table.get(label, {})) for label in labels]
    return sorted(table.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
