"""The jobs Gatehouse ships, and the tick every serving instance runs: an app started
with its lifespan runs the due jobs on its own; a tick of zero leaves them to
`gatehouse jobs run`."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from starlette.testclient import TestClient

from broker.settings_jobs import JobSettings
from broker.store import Store
from tests.support.gatehouse import build_gatehouse

#: A liveness guard for code that must not hang, not a measurement.
GUARD_S = 30


def job_names(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return [r.name for r in uow.job_runs.list() if r.last_ok_at is not None]


def test_a_served_instance_runs_the_due_jobs_on_its_own(store: Store, tmp_path: Path) -> None:
    tick = JobSettings(tick=timedelta(milliseconds=5))
    gatehouse = build_gatehouse(store, tmp_path, jobs=tick)
    deadline = time.monotonic() + GUARD_S
    with TestClient(gatehouse.app):
        while len(job_names(store)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert job_names(store) == [
        "certificate_expiry", "domain_recheck", "saml_metadata_refresh"
    ]  # fmt: skip


def test_a_tick_of_zero_runs_nothing_in_the_instance(store: Store, tmp_path: Path) -> None:
    gatehouse = build_gatehouse(store, tmp_path)  # the tests' settings: tick 0
    with TestClient(gatehouse.app) as client:
        assert client.get("/.well-known/openid-configuration").status_code == 200
    assert job_names(store) == []
    assert gatehouse.broker.scheduler.names == (
        "domain_recheck", "certificate_expiry", "saml_metadata_refresh"
    )  # fmt: skip


def test_every_instance_also_renews_its_idp_documents_at_the_tick(
    store: Store, tmp_path: Path
) -> None:
    tick = JobSettings(tick=timedelta(seconds=7))
    broker = build_gatehouse(store, tmp_path, jobs=tick).broker
    jobs = broker.background_jobs()
    assert set(jobs) == {"purge", "jobs", "webhooks", "refresh_ahead"}
    run, interval = jobs["refresh_ahead"]
    assert interval == timedelta(seconds=7)
    assert run(lambda: False) == "refreshed=0 failed=0 dropped=0"
