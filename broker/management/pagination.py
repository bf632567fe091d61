"""Opaque cursors for keyset pagination.

A cursor is the sort key of the last item returned, base64url-encoded JSON: the store then
reads strictly after it, so a page does not shift when rows are added meanwhile (new rows
sort after every existing one; events, newest first, before). Cursors are not secret and
not signed: every query is still scoped by the caller's organization and scopes, so a forged
cursor can only skip rows the caller may see anyway.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from broker.management.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
#: Longer than any cursor this API makes (a timestamp and an id, or a name of 200).
MAX_CURSOR_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


def encode(*parts: str | datetime) -> str:
    values = [p.isoformat() if isinstance(p, datetime) else p for p in parts]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


def decode_key(cursor: str | None) -> tuple[datetime, str] | None:
    """A (timestamp, id) cursor, or None for the first page."""
    values = _decode(cursor)
    if values is None:
        return None
    try:
        at, ident = values
        instant = datetime.fromisoformat(str(at))
    except (TypeError, ValueError) as exc:
        raise InvalidInput.at("/cursor", "not a cursor this API returned") from exc
    if instant.tzinfo is None:
        raise InvalidInput.at("/cursor", "not a cursor this API returned")
    return instant, str(ident)


def decode_name(cursor: str | None) -> str | None:
    values = _decode(cursor)
    if values is None:
        return None
    if len(values) != 1 or not isinstance(values[0], str):
        raise InvalidInput.at("/cursor", "not a cursor this API returned")
    return values[0]


def limit(value: int | None) -> int:
    """Bounded page size (M-07: `limit=1000000` is capped, not obeyed)."""
    if value is None:
        return DEFAULT_LIMIT
    return max(1, min(value, MAX_LIMIT))


def page(items: Sequence[T], size: int, cursor_of: Callable[[T], str]) -> Page[T]:
    """`items` read with `size + 1`; the extra one only says there is a next page, whose
    cursor is the last item shown."""
    if len(items) <= size:
        return Page(items=items, next_cursor=None)
    return Page(items=items[:size], next_cursor=cursor_of(items[size - 1]))


def read_page(
    cursor: str | None,
    requested: int | None,
    read: Callable[[tuple[datetime, str] | None, int], Sequence[T]],
    key: Callable[[T], tuple[datetime, str]],
) -> Page[T]:
    """One page of a time-ordered list: `read(after, limit)` asks the store for one item
    more than the page holds; `key` is the item's (timestamp, id) the next cursor carries."""
    size = limit(requested)
    found = read(decode_key(cursor), size + 1)
    return page(found, size, lambda item: encode(*key(item)))


def _decode(cursor: str | None) -> list[object] | None:
    """The cursor's values, or InvalidInput: a forged cursor is anything at all, so the JSON
    inside may nest past the recursion limit (RecursionError), or carry a string the store
    cannot hold (NUL for PostgreSQL, a lone surrogate for any UTF-8 encoder)."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidInput.at("/cursor", "not a cursor this API returned")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidInput.at("/cursor", "not a cursor this API returned") from exc
    if not isinstance(values, list) or not all(map(_storable, values)):
        raise InvalidInput.at("/cursor", "not a cursor this API returned")
    return values


def _storable(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value
