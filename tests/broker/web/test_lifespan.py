"""The background loop of every instance (broker/web/lifespan.py): a failing run is logged
and the next one still comes; shutdown cancels the wait and lets a running job finish its
batch; an interval of zero runs nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import anyio
import pytest
from starlette.applications import Starlette

from broker.web.lifespan import background_lifespan, jittered

#: A liveness guard for code that must not hang, not a measurement.
GUARD_S = 30
TINY = timedelta(milliseconds=1)


def run_lifespan_until(jobs, done: Callable[[], bool]) -> None:
    """Start the lifespan, wait until `done()`, shut it down."""

    async def main() -> None:
        with anyio.fail_after(GUARD_S):
            async with background_lifespan(jobs)(Starlette()):
                while not done():
                    await anyio.sleep(0.005)

    anyio.run(main)


def test_a_failed_run_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def job(stop: Callable[[], bool]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database unreachable")

    with caplog.at_level(logging.ERROR, logger="broker.web.lifespan"):
        run_lifespan_until({"purge": (job, TINY)}, lambda: len(calls) >= 3)
    [record] = [r for r in caplog.records if "purge failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "database unreachable" in str(record.exc_info[1])


def test_shutdown_stops_a_running_job_between_batches() -> None:
    """The job is not abandoned in its thread: shutdown tells it to stop and waits for it,
    so nothing uses the database after the app has shut down."""
    started = threading.Event()
    finished: list[str] = []

    def job(stop: Callable[[], bool]) -> None:
        started.set()
        deadline = time.monotonic() + GUARD_S
        while not stop():  # one "batch" after another
            assert time.monotonic() < deadline
            time.sleep(0.001)
        finished.append("stopped")

    run_lifespan_until({"purge": (job, TINY)}, started.is_set)
    assert finished == ["stopped"]


def test_an_interval_of_zero_runs_nothing() -> None:
    calls: list[int] = []
    ticks: list[int] = []

    def other(stop: Callable[[], bool]) -> None:
        ticks.append(1)

    run_lifespan_until(
        {"purge": (lambda stop: calls.append(1), timedelta(0)), "other": (other, TINY)},
        lambda: len(ticks) >= 3,
    )
    assert calls == []


def test_waits_are_jittered_around_the_interval() -> None:
    waits = [jittered(timedelta(seconds=60)) for _ in range(200)]
    assert all(30 <= wait <= 90 for wait in waits)
    assert len(set(waits)) > 100  # instances started together drift apart


def test_the_shutdown_hook_runs_once_after_the_jobs_stopped() -> None:
    """Where a worker among several takes its pool gauges out of the sum."""
    events: list[str] = []
    started = threading.Event()

    def job(stop: Callable[[], bool]) -> None:
        started.set()
        while not stop():
            time.sleep(0.001)
        events.append("job stopped")

    async def main() -> None:
        lifespan = background_lifespan(
            {"purge": (job, TINY)}, at_shutdown=lambda: events.append("shut down")
        )
        with anyio.fail_after(GUARD_S):
            async with lifespan(Starlette()):
                while not started.is_set():
                    await anyio.sleep(0.005)
                assert events == []

    anyio.run(main)
    assert events == ["job stopped", "shut down"]
