"""Log lines nobody outside can forge or flood (issue 12 item 5; SECURITY-CATALOGUE X-05).

Log messages carry values from requests and from IdPs: a connection id from a URL path, an
email typed on the login page, an IdP's error text. A CR or LF in one of them would start a
line of the attacker's choosing in a text log (`login complete ... sub=usr_admin`); a NUL or
an escape sequence confuses the tools that read logs; a 30 KB value makes every line about it
30 KB. So every record's arguments and message are escaped and capped *when the record is
made*, before any handler or formatter sees it, whoever configured the handlers (uvicorn,
gunicorn, a deployment's own): `install()` wraps the process's log record factory.

Escaping is per value, so a formatter that unpacks arguments (uvicorn's access log reads its
five arguments by position) still gets five strings. Control characters (C0, DEL, C1, and
the Unicode line and paragraph separators) become `\\xNN` / `\\uNNNN` text; each value is cut
to `MAX_VALUE` characters with a note of how much was left out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

MAX_VALUE = 1000
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INSTALLED = "_gatehouse_escapes_values"


def escape(text: str, *, limit: int = MAX_VALUE) -> str:
    """`text` on one line, with no control character, at most `limit` characters (plus a
    note saying how many more there were)."""
    if len(text) > limit:
        text = f"{text[:limit]}…[{len(text) - limit} more]"
    return _CONTROL.sub(_escaped_character, text)


def _escaped_character(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class _Shown:
    """An argument that is not a string or a number: escaped when the message is
    formatted, whichever of `%s` or `%r` shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: object) -> None:
        self._value = value

    def __str__(self) -> str:
        return escape(str(self._value))

    def __repr__(self) -> str:
        return escape(repr(self._value))


def _safe(value: object) -> object:
    if isinstance(value, str):
        return escape(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _Shown(value)


def safe_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_safe(a) for a in args)
    if isinstance(args, Mapping):
        return {k: _safe(v) for k, v in args.items()}
    return args


def install() -> None:
    """Make every log record of this process escape its values (idempotent)."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, _INSTALLED, False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = escape(record.msg, limit=MAX_VALUE * 4)
        else:
            record.msg = _Shown(record.msg)
        record.args = safe_args(record.args)
        return record

    setattr(make_record, _INSTALLED, True)
    logging.setLogRecordFactory(make_record)
