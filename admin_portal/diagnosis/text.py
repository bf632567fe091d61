"""Small wording helpers: durations a person reads."""

from __future__ import annotations


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
