"""Identifier check digits: resident ID (GB 11643) and unified social credit code (GB 32100)."""

from __future__ import annotations

import operator
import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{5}(\d{4})(\d{2})(\d{2})\d{3}[\dX]$")

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def resident_id_check_digit(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != len(_ID_WEIGHTS):
        raise ValueError(f"need the first 17 digits, got {len(first17)} characters")
    total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS))  # every pull checks keys
    return _ID_CHECK[total % 11]


def resident_id_problem(value: str) -> str | None:
    """Return why ``value`` is not a valid 18-digit resident ID, or None if it is."""
    m = _ID_RE.match(value)
    if not m:
        return "must be 18 characters: 17 digits and a check digit (0-9 or X)"
    try:
        born = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return "birth date part is not a real date"
    if born.year < 1880 or born > date.today():
        return "birth date part is out of range"
    if resident_id_check_digit(value[:17]) != value[17]:
        return "check digit does not match (GB 11643)"
    return None


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character for the first 17 characters."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc_problem(value: str) -> str | None:
    """Return why ``value`` is not a valid unified social credit code, or None if it is."""
    if not _USCC_RE.match(value):
        return "must be 18 characters from the GB 32100 set (digits and A-Y without I O S V Z)"
    if uscc_check_char(value[:17]) != value[17]:
        return "check character does not match (GB 32100)"
    return None


def is_resident_id(value: str) -> bool:
    """Return whether ``value`` is a valid 18-digit resident ID."""
    return resident_id_problem(value) is None


def is_uscc(value: str) -> bool:
    """Return whether ``value`` is a valid unified social credit code."""
    return uscc_problem(value) is None
