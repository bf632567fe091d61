"""Small wording helpers: durations a person reads, and fix text to HTML."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_STRONG = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`(.+?)`")


def emphasize(text: str) -> Markup:
    """Our fix text to HTML: escaped first, then `**label**` -> <strong>, `` `x` `` ->
    <code>. Never given IdP text (that goes through plain autoescaping)."""
    html = str(escape(text))
    html = _STRONG.sub(r"<strong>\1</strong>", html)
    html = _CODE.sub(r"<code>\1</code>", html)
    return Markup(html)  # noqa: S704 - escaped above; only our two tags are added


def duration(seconds: int) -> str:
    """`7260` -> "2 hours 1 minute"; `45` -> "45 seconds" (the sign is the caller's)."""
    seconds = abs(seconds)
    if seconds < 120:
        return _unit(seconds, "second")
    minutes = seconds // 60
    if minutes < 60:
        return _unit(minutes, "minute")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _unit(hours, "hour") + (f" {_unit(minutes, 'minute')}" if minutes else "")
    return _unit(hours // 24, "day")


def signed_seconds(seconds: int) -> str:
    """`-7200` -> "-7200 s (2 hours behind)"."""
    if seconds == 0:
        return "0 s"
    side = "ahead of" if seconds > 0 else "behind"
    return f"{seconds:+d} s ({duration(seconds)} {side} our clock)"


def _unit(count: int, name: str) -> str:
    return f"{count} {name}{'' if count == 1 else 's'}"
