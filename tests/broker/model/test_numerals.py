"""Whole numbers from untrusted text: ASCII digits, a maximum, and nothing `int()` would
choke on or read too generously."""

from __future__ import annotations

import pytest

from broker.model.numerals import InvalidNumeral, parse_decimal


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("300", 300), ("0300", 300), ("99", 99)])
def test_ascii_digits_up_to_the_maximum_are_read(text: str, value: int) -> None:
    assert parse_decimal(text, maximum=300) == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "²",  # isdigit() is True, int() raises
        "١٢",  # Arabic-Indic: int() reads it
        "\uff15",  # fullwidth 5: int() reads it
        "-1",
        "+1",
        " 1",
        "1 ",
        "1_0",
        "0x1",
        "1e3",
        "301",
        "0" * 21 + "1",  # below the maximum, but no one means it
        "9" * 5000,  # past CPython's int-string conversion limit
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidNumeral):
        parse_decimal(text, maximum=300)
