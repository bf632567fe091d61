"""How long an IdP's metadata may be used: `validUntil` and `cacheDuration`.

SAML Metadata §2.2.1-2.3.1: both may sit on the `EntitiesDescriptor` around an entity, on
its `EntityDescriptor` and on its role descriptor; the strictest one found applies (the
earliest `validUntil`, the shortest `cacheDuration`). `validUntil` is an xs:dateTime (UTC;
one without a zone is read as UTC, as every IdP we know writes it), `cacheDuration` an
xs:duration, read here with a small parser of our own: python3-saml's goes through
`isodate`, whose calendar durations (months) have no fixed length and whose errors are
assertions. A year counts 365 days and a month 30: a cache period, not a calendar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from broker.errors import ConfigError

_DURATION = re.compile(
    r"P(?:(?P<years>\d{1,4})Y)?(?:(?P<months>\d{1,5})M)?(?:(?P<days>\d{1,6})D)?"
    r"(?:T(?:(?P<hours>\d{1,7})H)?(?:(?P<minutes>\d{1,9})M)?"
    r"(?:(?P<seconds>\d{1,10}(?:\.\d{1,9})?)S)?)?"
)
_DAYS = {"years": 365, "months": 30, "days": 1}
_SECONDS = {"hours": 3600, "minutes": 60}


@dataclass(frozen=True, slots=True)
class Validity:
    valid_until: datetime | None = None
    cache_duration: timedelta | None = None


def read_validity(elements: Iterable[etree._Element]) -> Validity:
    """The strictest `validUntil` and `cacheDuration` of `elements`; ConfigError("metadata")
    for a value that is not one."""
    until: list[datetime] = []
    cache: list[timedelta] = []
    for element in elements:
        if (value := element.get("validUntil")) is not None:
            until.append(parse_date_time(value))
        if (value := element.get("cacheDuration")) is not None:
            cache.append(parse_duration(value))
    return Validity(
        valid_until=min(until) if until else None, cache_duration=min(cache) if cache else None
    )


def parse_date_time(value: str) -> datetime:
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or "T" not in text:
        raise ConfigError("metadata", f"validUntil is not a date and time: {text[:40]!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_duration(value: str) -> timedelta:
    text = value.strip()
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ConfigError("metadata", f"cacheDuration is not a duration: {text[:40]!r}")
    parts = {name: found for name, found in match.groupdict().items() if found is not None}
    days = sum(int(parts.get(name, 0)) * size for name, size in _DAYS.items())
    whole = sum(int(parts.get(name, 0)) * size for name, size in _SECONDS.items())
    seconds = whole + float(parts.get("seconds", 0))
    # The pattern's digit limits keep the longest duration near 7.7 million days, far
    # inside what a timedelta holds (999,999,999 days): no overflow to catch.
    return timedelta(days=days, seconds=seconds)
