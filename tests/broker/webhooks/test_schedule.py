"""The backoff: full jitter under a doubling ceiling, capped; three days, then failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broker.webhooks import schedule

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    assert [schedule.ceiling(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert schedule.ceiling(40) == schedule.CAP == timedelta(hours=6)


def test_each_wait_is_within_one_second_and_the_ceiling_and_they_vary() -> None:
    for retry in (1, 3, 12):
        waits = {schedule.next_attempt(NOW, retry) - NOW for _ in range(200)}
        assert all(timedelta(seconds=1) <= w <= schedule.ceiling(retry) for w in waits)
        assert len(waits) > 20  # jittered, not a fixed step


def test_a_delivery_is_given_up_after_three_days() -> None:
    assert not schedule.given_up(NOW, NOW + timedelta(days=3) - timedelta(seconds=1))
    assert schedule.given_up(NOW, NOW + timedelta(days=3))


def test_three_days_hold_a_few_dozen_attempts() -> None:
    """Worst case (every wait at its ceiling) still tries more than a dozen times."""
    elapsed, retry = timedelta(0), 0
    while elapsed < timedelta(days=3):
        retry += 1
        elapsed += schedule.ceiling(retry)
    assert 12 <= retry <= 30
