"""The cluster-wide schedule on both backends: a due job runs once across instances,
again one period later, sooner after a failure, and a crashed runner's lease runs out."""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta

import pytest

from broker.clock import FixedClock
from broker.jobs.scheduler import LEASE, RETRY_AFTER, ScheduledJob, Scheduler, Stop
from broker.store import Store

DAY = timedelta(days=1)


class Counting:
    """A job that counts its runs (and can be told to fail, or to take a while)."""

    def __init__(self, *, fail: bool = False, takes: float = 0.0) -> None:
        self.runs = 0
        self.fail = fail
        self.takes = takes
        self._lock = threading.Lock()

    def __call__(self, stop: Stop) -> str:
        with self._lock:
            self.runs += 1
        time.sleep(self.takes)
        if self.fail:
            raise RuntimeError("the resolver is down")
        return f"run {self.runs}"


def scheduler(
    store: Store, clock: FixedClock, *jobs: tuple[str, Counting], owner: str
) -> Scheduler:
    scheduled = [ScheduledJob(name=n, interval=DAY, run=job) for n, job in jobs]
    return Scheduler(store=store, clock=clock, jobs=scheduled, owner=owner)


def test_a_new_job_runs_at_once_then_once_per_period(store: Store) -> None:
    clock, job = FixedClock(), Counting()
    instance = scheduler(store, clock, ("daily", job), owner="a")
    [outcome] = instance.run_due()
    assert (outcome.name, outcome.ok, outcome.summary) == ("daily", True, "run 1")
    clock.advance(DAY - timedelta(seconds=1))
    assert instance.run_due() == []
    clock.advance(timedelta(seconds=1))
    assert [o.summary for o in instance.run_due()] == ["run 2"]
    with store.unit_of_work() as uow:
        [run] = uow.job_runs.list()
    assert (run.next_run_at, run.last_ok_at, run.leased_by) == (
        clock.now() + DAY,
        clock.now(),
        None,
    )


def test_two_instances_ticking_together_run_a_due_job_once(store: Store) -> None:
    """Both claim at the same instant from their own threads; the job holds its lease
    while it runs, so the loser finds it leased, and after it, not due."""
    clock, job = FixedClock(), Counting(takes=0.2)
    instances = [scheduler(store, clock, ("daily", job), owner=o) for o in ("a", "b", "c")]
    with store.unit_of_work() as uow:  # the row exists: every claimer races on the UPDATE
        uow.job_runs.ensure("daily", first_run_at=clock.now())
    start = threading.Barrier(len(instances))
    ran: list[int] = []

    def tick(instance: Scheduler) -> None:
        start.wait()
        ran.append(len(instance.run_due()))

    threads = [threading.Thread(target=tick, args=(i,)) for i in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert job.runs == 1
    assert sorted(ran) == [0, 0, 1]


def test_a_crashed_runners_job_waits_for_its_lease_then_runs_elsewhere(store: Store) -> None:
    clock, job = FixedClock(), Counting()
    with store.unit_of_work() as uow:
        uow.job_runs.ensure("daily", first_run_at=clock.now())
        assert uow.job_runs.claim(
            "daily", owner="crashed", now=clock.now(), lease_until=clock.now() + LEASE
        )
    survivor = scheduler(store, clock, ("daily", job), owner="b")
    clock.advance(LEASE - timedelta(seconds=1))
    assert survivor.run_due() == []
    clock.advance(timedelta(seconds=1))
    assert [o.ok for o in survivor.run_due()] == [True]
    with store.unit_of_work() as uow:  # the crashed runner, back, cannot end b's schedule
        assert not uow.job_runs.finish(
            "daily", owner="crashed", next_run_at=clock.now(), ok_at=None, error="late"
        )
        [run] = uow.job_runs.list()
    assert (run.next_run_at, run.last_error) == (clock.now() + DAY, None)


def test_a_failed_run_is_recorded_retried_sooner_and_does_not_stop_the_others(
    store: Store,
) -> None:
    clock, broken, fine = FixedClock(), Counting(fail=True), Counting()
    instance = scheduler(store, clock, ("broken", broken), ("fine", fine), owner="a")
    outcomes = instance.run_due()
    assert [(o.name, o.ok) for o in outcomes] == [("broken", False), ("fine", True)]
    assert outcomes[0].summary == "RuntimeError: the resolver is down"
    with store.unit_of_work() as uow:
        runs = {r.name: r for r in uow.job_runs.list()}
    assert runs["broken"].last_error == "RuntimeError: the resolver is down"
    assert runs["broken"].last_ok_at is None
    assert runs["broken"].next_run_at == clock.now() + RETRY_AFTER
    broken.fail = False
    clock.advance(RETRY_AFTER)
    assert [o.name for o in instance.run_due()] == ["broken"]
    with store.unit_of_work() as uow:
        runs = {r.name: r for r in uow.job_runs.list()}
    assert (runs["broken"].last_error, runs["broken"].last_ok_at) == (None, clock.now())


def test_a_tick_told_to_stop_claims_nothing_more(store: Store) -> None:
    clock, first, second = FixedClock(), Counting(), Counting()
    instance = scheduler(store, clock, ("first", first), ("second", second), owner="a")
    stopping = iter([False, True])
    assert [o.name for o in instance.run_due(lambda: next(stopping))] == ["first"]
    assert second.runs == 0


@pytest.mark.parametrize("owner", [None, "given"])
def test_a_lease_names_its_holder(store: Store, owner: str | None) -> None:
    """The lease holder is the given name, or this host and process (`gatehouse jobs
    list` shows who holds a job that seems stuck)."""
    clock = FixedClock()
    seen: list[str | None] = []

    def look(stop: Stop) -> None:
        with store.unit_of_work() as uow:
            seen.extend(r.leased_by for r in uow.job_runs.list())

    jobs = [ScheduledJob(name="j", interval=DAY, run=look)]
    Scheduler(store=store, clock=clock, jobs=jobs, owner=owner).run_due()
    [holder] = seen
    assert holder is not None
    if owner is None:
        assert f"{socket.gethostname()}:{os.getpid()}:" in holder
    else:
        assert holder == owner
