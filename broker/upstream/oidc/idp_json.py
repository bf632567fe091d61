"""The JSON an IdP sends, read strictly: discovery, JWKS, the token response, userinfo, and
the ID token's header and claims.

Python's `json` reads more than JSON (RFC 8259) is, and yields values the rest of Gatehouse
cannot use safely, so each of these is refused here, with the caller's reason:

- `NaN`, `Infinity`, `-Infinity` (RFC 8259 §6 has no such numbers), and `1e400`, which reads
  as infinity. Every comparison with NaN is false: a NaN `exp` was never "expired". And the
  claims are stored and re-signed as JSON, which PostgreSQL refuses with them in.
- A lone surrogate (`"\\ud800"`, RFC 8259 §8.2): no UTF-8 encoder, so no store, accepts it.
- NUL in a string (`"\\u0000"`): PostgreSQL refuses it in text.
- Nesting past `MAX_DEPTH` (and past the recursion limit, which `json.loads` meets with a
  RecursionError rather than a ValueError).

What a member must then be is the caller's check; the readers below are the shared ones:
`timestamp` (a NumericDate, RFC 7519 §2, that a `datetime` can hold: not a bool, which Python
counts as an int) and `is_ascii_text` (for values only ever ASCII: kid, alg, typ, nonce,
at_hash, access tokens).
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from broker.model.reasons import Reason
from broker.upstream.base import UpstreamInvalid

MAX_DEPTH = 32
#: 9999-12-31T23:59:59Z, the last second a `datetime` holds.
MAX_TIMESTAMP = 253402300799


def parse_object(document: bytes | str, reason: Reason, what: str) -> dict[str, Any]:
    """A JSON object, strictly; UpstreamInvalid(`reason`) saying what was wrong with `what`."""
    try:
        data = json.loads(document, parse_constant=_no_constant)
    except _NotJson as exc:
        raise UpstreamInvalid(reason, detail=f"{what} holds {exc}") from exc
    except RecursionError as exc:
        raise UpstreamInvalid(reason, detail=f"{what} nests too deeply") from exc
    except ValueError as exc:  # not JSON, not UTF-8, an integer of thousands of digits
        raise UpstreamInvalid(reason, detail=f"{what} is not JSON") from exc
    if not isinstance(data, dict):
        raise UpstreamInvalid(reason, detail=f"{what} is not a JSON object")
    problem = _problem(data)
    if problem is not None:
        raise UpstreamInvalid(reason, detail=f"{what} holds {problem}")
    return data


def timestamp(value: object) -> int | float | None:
    """`value` as seconds since 1970 if it is a number a time can be, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= MAX_TIMESTAMP:  # NaN fails both comparisons
        return None
    return value


def is_ascii_text(value: object, *, max_chars: int = 4096) -> bool:
    """A non-empty string of printable ASCII (space included), at most `max_chars`."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_chars
        and all(" " <= ch <= "~" for ch in value)
    )


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> NoReturn:
    raise _NotJson(f"{name}, which is not a JSON number")


def _problem(root: object) -> str | None:
    """The first value JSON allows and Gatehouse cannot keep, walked without recursion."""
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"values nested deeper than {MAX_DEPTH}"
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem is not None:
                return problem
        elif isinstance(value, float) and not math.isfinite(value):
            return "a number out of range"
        elif isinstance(value, dict):
            for key, member in value.items():
                problem = _string_problem(key)
                if problem is not None:
                    return problem
                stack.append((member, depth + 1))
        elif isinstance(value, list):
            stack.extend((member, depth + 1) for member in value)
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a string with a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a string with a lone surrogate"
    return None
