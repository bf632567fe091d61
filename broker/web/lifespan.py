"""What every broker instance does in the background while it serves: the purge, the tick
of the scheduled jobs (`broker.jobs`, each run once across the cluster), the webhook worker,
and the refresh ahead of its own cached OIDC documents (`ConnectorCache.refresh_ahead`).

Started by the app's Starlette lifespan, so it runs wherever the app is served with one
(`gatehouse serve`, any ASGI server with lifespan on) and nowhere else: tests that drive
the app with a bare `TestClient(app)`, or serve it with `lifespan="off"`, run no
background work. There is no separate worker process to deploy and forget; N instances
purge in parallel safely (the store's batches skip each other's rows).

    startup   -> a task sleeps a jittered interval, runs the job in a worker thread, repeats
    job fails -> logged with its traceback; the loop goes on (the next run retries)
    shutdown  -> the job is told to stop (between two batches) and the sleep is cancelled

The job runs in a worker thread because the store is synchronous
(docs/architecture.md, "A synchronous core behind an async edge"): run on the event loop, a
purge would stall every request of the instance while it waits on the database.
"""

from __future__ import annotations

import logging
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

import anyio
import anyio.to_thread
from starlette.applications import Starlette

log = logging.getLogger(__name__)

#: A job is told to stop by this callable turning true; it should return soon after.
Job = Callable[[Callable[[], bool]], object]
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]

_JITTER_STEPS = 1_000_000


def jittered(interval: timedelta) -> float:
    """Seconds to wait: uniformly within half to one and a half `interval`. The mean stays
    the interval, and instances started together (a deploy) drift apart at once instead
    of purging in lockstep. `secrets` rather than `random`: the project bans `random`,
    and this is not worth an exception."""
    fraction = 0.5 + secrets.randbelow(_JITTER_STEPS + 1) / _JITTER_STEPS
    return interval.total_seconds() * fraction


async def run_periodically(name: str, job: Job, interval: timedelta, stop: threading.Event) -> None:
    """Run `job` every `interval` (jittered) until cancelled. The worker thread is waited
    for, not abandoned, when cancelled: the job notices `stop` between two batches, so the
    wait is one short transaction, and nothing keeps using the database after shutdown."""
    while True:
        await anyio.sleep(jittered(interval))
        try:
            await anyio.to_thread.run_sync(job, stop.is_set)
        except Exception:
            log.exception("background job %s failed; it runs again in about %s", name, interval)


def background_lifespan(
    jobs: dict[str, tuple[Job, timedelta]], *, at_shutdown: Callable[[], None] = lambda: None
) -> Lifespan:
    """A lifespan running each job at its own interval, by name (for the log); a job
    whose interval is zero is disabled (an operator then runs it from a scheduler).
    `at_shutdown` runs once the jobs have stopped (a worker's metrics leave the sum)."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        try:
            async with anyio.create_task_group() as tasks:
                for name, (job, interval) in jobs.items():
                    if interval > timedelta(0):
                        tasks.start_soon(run_periodically, name, job, interval, stop)
                try:
                    yield
                finally:
                    stop.set()
                    tasks.cancel_scope.cancel()
        finally:
            at_shutdown()

    return lifespan


def run_in_foreground(jobs: dict[str, tuple[Job, timedelta]]) -> None:
    """`gatehouse worker`: the same jobs at the same intervals, without serving HTTP, until
    SIGINT or SIGTERM; then each job is told to stop and finishes its current batch."""

    async def main() -> None:
        stop = threading.Event()
        async with anyio.create_task_group() as tasks:
            for name, (job, interval) in jobs.items():
                if interval > timedelta(0):
                    tasks.start_soon(run_periodically, name, job, interval, stop)
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for received in signals:
                    log.info("worker stopping on signal %s", received)
                    stop.set()
                    tasks.cancel_scope.cancel()
                    break

    anyio.run(main)
