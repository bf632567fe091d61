"""Whole numbers written in untrusted text: a query parameter, a form field, a header.

`str.isdigit()` is the wrong gate for `int()`: it accepts `²`, `١٢` and fullwidth digits,
some of which `int()` refuses (a ValueError where a protocol error belongs) and some of which
it silently reads. And `int()` of thousands of digits raises (CPython's int-string conversion
limit) or, below that limit, yields a number no protocol means. So a numeral is refused
unless it is what every protocol we speak writes (RFC 9110 §8.6 `1*DIGIT`, OIDC `max_age`):
ASCII digits only, no sign, no white space, no underscores, and at most a stated maximum. The
length is capped before `int()` runs, so the conversion costs nothing whatever was sent.
"""

from __future__ import annotations

#: More digits than any maximum below needs; leading zeros past this are not a number
#: anyone meant.
_MAX_DIGITS = 20


class InvalidNumeral(ValueError):
    """Not a whole number we accept; the message says why, without echoing the text."""


def parse_decimal(text: str, *, maximum: int) -> int:
    """`text` as a non-negative integer of ASCII digits, at most `maximum`."""
    if not text or not text.isascii() or not text.isdigit():
        raise InvalidNumeral("not a whole number of ASCII digits")
    if len(text) > max(_MAX_DIGITS, len(str(maximum))):
        raise InvalidNumeral("too many digits")
    value = int(text)
    if value > maximum:
        raise InvalidNumeral(f"larger than {maximum}")
    return value
