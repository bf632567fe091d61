"""Bounds on what one audit event holds, whoever sent what it records.

Audit events are written for unauthenticated requests: a refused login at a SAML ACS
records the connection id from the URL path, and the refusal's detail quotes what was
posted. Unbounded, every such request could store (and every events page show) as much
as the request carried, and a CR/LF in a value would start a forged line wherever events
are printed as text. So every field is bounded here, once, by `AuditEvent` itself
(`__post_init__`): no event holds more, whichever code builds it and wherever it goes next
(the store, a log line, an export).

- ids (`id`, `kind`, `organization_id`, `connection_id`, `flow_id`, `request_id`, `actor`):
  `MAX_ID` characters; `reason`: `MAX_TEXT`.
- `detail`: at most `MAX_ENTRIES` entries per object or list, `MAX_DETAIL_ENTRIES` in all
  (nested ones included), nested `MAX_DEPTH` deep; keys `MAX_KEY` characters; strings
  `MAX_TEXT` each and `MAX_DETAIL_TEXT` in all; numbers JSON can hold exactly.
- Control characters (C0, DEL, C1, the Unicode line and paragraph separators, bidi
  overrides) and lone surrogates are escaped as text (`\\x0a`, `\\u2028`): still readable,
  never a line break, and storable (PostgreSQL refuses NUL and lone surrogates in text,
  which would have turned a hostile value into a failed request).

What is cut says so (`…[29500 more]`, a `…` entry counting what was dropped), and the
result fits its own bounds, so bounding a bounded event changes nothing (events read back
from the store are bounded again on construction).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import Any

MAX_ID = 100
MAX_TEXT = 500
MAX_KEY = 64
MAX_ENTRIES = 32
MAX_DETAIL_ENTRIES = 48
MAX_DETAIL_TEXT = 8_000
#: The event's `detail` is depth 1; an object or list deeper than this is summarized.
MAX_DEPTH = 4
#: The key of the entry that says how many entries were left out.
MORE = "…"

_ESCAPED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SAFE_INTEGER = 2**53  # beyond, a JSON reader may round it (RFC 8259 §6)


def bound_text(value: str, limit: int) -> str:
    """`value` with control characters escaped, cut to at most `limit` characters
    (`limit` >= 24: room for the marker) with a marker saying how many were left out."""
    if len(value) <= limit:
        escaped = _ESCAPED.sub(_escape, value)
        if len(escaped) <= limit:
            return escaped
    budget = limit - len(_cut(len(value)))  # the widest marker this value can need
    # Each character escapes to at least one, so no more than `budget` of them can fit;
    # the ones kept are those whose escaped lengths add up to at most `budget`. (The whole
    # value never fits: it is longer than `limit`, escaped, or it would have been returned.)
    pieces = [_ESCAPED.sub(_escape, char) for char in value[:budget]]
    kept = bisect_right(list(accumulate(map(len, pieces))), budget)
    return "".join(pieces[:kept]) + _cut(len(value) - kept)


def bound_optional(value: str | None, limit: int) -> str | None:
    return None if value is None else bound_text(value, limit)


def bound_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` within the bounds above, as a new dict of JSON values."""
    budget = _Budget(entries=MAX_DETAIL_ENTRIES, text=MAX_DETAIL_TEXT)
    return _object(detail, 1, budget)


@dataclass(slots=True)
class _Budget:
    """What the rest of one detail may still hold."""

    entries: int
    text: int


def _bound_value(value: object, depth: int, budget: _Budget) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) < _SAFE_INTEGER:
            return value
        return _text(f"(a {value.bit_length()}-bit integer)", budget)
    if isinstance(value, float):
        return value if math.isfinite(value) else _text(str(value), budget)
    if isinstance(value, str):
        return _text(value, budget)
    if isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH or budget.entries < 1:
            return _text(f"({_entries(len(value))} left out)", budget)
        if isinstance(value, Mapping):
            return _object(value, depth + 1, budget)
        return _list(value, depth + 1, budget)
    return _text(str(value), budget)


def _object(value: Mapping[Any, Any], depth: int, budget: _Budget) -> dict[str, Any]:
    """Left-out entries are counted under the key `…` (a number costs no text)."""
    pairs = list(islice(value.items(), MAX_ENTRIES))
    kept = _bound_entries([v for _, v in pairs], len(value), depth, budget)
    bounded = {bound_text(str(k), MAX_KEY): v for (k, _), v in zip(pairs, kept, strict=False)}
    if len(kept) < len(value):
        bounded[MORE] = len(value) - len(kept)
    return bounded


def _list(value: list[Any] | tuple[Any, ...], depth: int, budget: _Budget) -> list[Any]:
    kept = _bound_entries(list(islice(value, MAX_ENTRIES)), len(value), depth, budget)
    if len(kept) < len(value):
        kept.append(_text(_cut(len(value) - len(kept)), budget))
    return kept


def _bound_entries(values: list[object], total: int, depth: int, budget: _Budget) -> list[object]:
    """The first values while this container and the whole detail have room, always
    keeping one entry free, unless it is the last, for the marker saying what was left
    out. A nested value is bounded with that entry held back, so the marker always fits.
    The caller adds the marker, which costs that entry."""
    kept: list[object] = []
    for index, value in enumerate(values):
        last = index == total - 1
        needed = 1 if last else 2
        if len(kept) + needed > MAX_ENTRIES or budget.entries < needed:
            break
        held_back = 0 if last else 1
        budget.entries -= 1 + held_back
        kept.append(_bound_value(value, depth, budget))
        budget.entries += held_back
    if len(kept) < total:
        budget.entries -= 1
    return kept


def _text(value: str, budget: _Budget) -> str:
    """A string leaf: `MAX_TEXT` at most, and what the detail's text budget has left.
    Markers are made here too, so a bounded detail bounded again spends the same text."""
    room = min(MAX_TEXT, budget.text)
    bounded = bound_text(value, room) if room >= _MIN_ROOM else (value and MORE)
    budget.text -= len(bounded)
    return bounded


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def _cut(dropped: int) -> str:
    return f"…[{dropped} more]"


#: The least room `bound_text` can cut in: the marker of a value of a billion characters.
_MIN_ROOM = len(_cut(10**9)) + 8


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
