"""Check digits of the identifiers the hub looks records up by (pure rules, no database)."""

import pytest

from catalogs.identifiers import (
    is_resident_id,
    is_uscc,
    resident_id_check_digit,
    resident_id_problem,
    uscc_check_char,
    uscc_problem,
)

# Published examples: GB 11643's 11010519491231002X and GB 32100's 91350100M000100Y43.


def test_published_resident_id_example_is_valid() -> None:
    assert is_resident_id("11010519491231002X")
    assert resident_id_check_digit("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491231002x", "18 characters"),  # lower-case x is not the standard's X
        ("1101051949123100", "18 characters"),
        ("110105194913310029", "birth date"),  # month 13
        ("011010519491231002", "18 characters"),  # area code cannot start with 0
        ("11010530001231002X", "birth date"),  # born in the future
    ],
)
def test_bad_resident_ids_say_why(value: str, why: str) -> None:
    problem = resident_id_problem(value)
    assert problem is not None and why in problem


def test_published_uscc_example_is_valid() -> None:
    assert is_uscc("91350100M000100Y43")
    assert uscc_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("91350100M000100Y44", "check character"),
        ("91350100M000100I43", "GB 32100 set"),  # I is not in the character set
        ("91350100M000100Y4", "18 characters"),
        ("9135010OM000100Y43", "GB 32100 set"),  # letter O where region digits go
    ],
)
def test_bad_uscc_say_why(value: str, why: str) -> None:
    problem = uscc_problem(value)
    assert problem is not None and why in problem


def test_every_single_character_change_of_a_valid_id_is_caught() -> None:
    """The MOD 11-2 check digit detects every single substitution error."""
    valid = "11010519491231002X"
    for position in range(17):
        for digit in "0123456789":
            if digit == valid[position]:
                continue
            changed = valid[:position] + digit + valid[position + 1 :]
            assert not is_resident_id(changed), changed
