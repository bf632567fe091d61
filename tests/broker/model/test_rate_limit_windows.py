"""Fixed windows aligned to the hour: every instance computes the same window from its own
clock, and `Retry-After` is what is left of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broker.model.rate_limits import Limit, retry_after, window_start

MINUTE = timedelta(minutes=1)


def at(hour: int, minute: int, second: int, microsecond: int = 0) -> datetime:
    return datetime(2026, 1, 1, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "window", "start", "left"),
    [
        (at(12, 0, 0), MINUTE, at(12, 0, 0), 60),
        (at(12, 0, 59, 1), MINUTE, at(12, 0, 0), 1),  # part of a second left: wait 1 s
        (at(12, 7, 15), MINUTE, at(12, 7, 0), 45),
        (at(12, 7, 15), timedelta(minutes=5), at(12, 5, 0), 165),
        (at(12, 59, 59), timedelta(hours=1), at(12, 0, 0), 1),
        (at(12, 0, 0, 500_000), timedelta(seconds=10), at(12, 0, 0), 10),
    ],
)
def test_window_and_retry_after(
    now: datetime, window: timedelta, start: datetime, left: int
) -> None:
    assert window_start(now, window) == start
    assert retry_after(now, window) == left


@pytest.mark.parametrize(
    ("requests", "window"),
    [
        (0, MINUTE),
        (10, timedelta(hours=2)),  # the purge forgets windows older than an hour
        (10, timedelta(seconds=7)),  # does not divide an hour: instances would disagree
        (10, timedelta(milliseconds=1500)),
    ],
)
def test_a_limit_that_cannot_work_is_refused(requests: int, window: timedelta) -> None:
    with pytest.raises(ValueError, match="test"):
        Limit(name="test", requests=requests, window=window)


def test_a_bucket_names_its_limit_and_key() -> None:
    limit = Limit(name="authorize", requests=3)
    assert limit.bucket("198.51.100.1").name == "authorize:198.51.100.1"
    assert limit.bucket("").name == "authorize"
