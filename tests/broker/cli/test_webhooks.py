"""`gatehouse webhooks ...` through the use cases the API calls, the same JSON as the API,
and `gatehouse worker`: a process of its own that delivers without serving HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run
from tests.support.processes import ROOT
from tests.support.webhook_receiver import webhook_receiver

__all__ = ["env"]  # the fixture, re-used


def test_create_shows_the_secret_once_and_the_commands_manage_the_endpoint(
    env: dict[str, str],
) -> None:
    created = json.loads(
        run(env, "webhooks", "create", "http://127.0.0.1:9/in", "--event", "connection.*",
            "--event", "domain.verified", "--json")
    )  # fmt: skip
    assert created["secret"].startswith("whsec_")
    endpoint_id = created["id"]
    [listed] = json.loads(run(env, "webhooks", "list", "--json"))["items"]
    assert listed == {k: v for k, v in created.items() if k != "secret"}
    updated = json.loads(run(env, "webhooks", "update", endpoint_id, "--disable", "--json"))
    assert updated["enabled"] is False
    rotated = json.loads(run(env, "webhooks", "rotate-secret", endpoint_id, "--json"))
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    run(env, "webhooks", "revoke-previous-secret", endpoint_id)
    assert "no deliveries" in run(env, "webhooks", "deliveries", endpoint_id)
    run(env, "webhooks", "delete", endpoint_id)
    assert "no webhook endpoints" in run(env, "webhooks", "list")


def test_refusals_are_messages_not_crashes(env: dict[str, str]) -> None:
    assert "https" in refused(
        env, "webhooks", "create", "http://hooks.example.com/in", "--event", "*"
    )
    assert "family" in refused(
        env, "webhooks", "create", "https://h.example/in", "--event", "idp.*"
    )
    assert "whe_nope" in refused(env, "webhooks", "resend", "whe_nope", "evt_nope")


def test_gatehouse_worker_delivers_without_serving_and_stops_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    worker_env = {**os.environ, **env, "GATEHOUSE_WEBHOOK_INTERVAL_MS": "200"}
    with webhook_receiver() as receiver:
        endpoint = json.loads(
            run(env, "webhooks", "create", receiver.url, "--event", "organization.*", "--json")
        )
        log = (tmp_path / "worker.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "broker", "worker"], env=worker_env, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            org = create_org(env, "Acme")
            deadline = time.monotonic() + 30
            while not receiver.delivered() and time.monotonic() < deadline:
                time.sleep(0.1)
            [request] = receiver.delivered()
            assert json.loads(request.body)["data"]["organization_id"] == org
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) is not None
            log.close()
    [delivery] = json.loads(run(env, "webhooks", "deliveries", endpoint["id"], "--json"))["items"]
    assert delivery["status"] == "delivered"
    attempts = json.loads(
        run(env, "webhooks", "attempts", endpoint["id"], delivery["id"], "--json")
    )["attempt_log"]
    assert [a["status_code"] for a in attempts] == [204]
    out = run(env, "webhooks", "resend", endpoint["id"], delivery["event_id"])
    assert out.startswith("queued whd_")
    store = SqlStore(make_engine(Settings.from_env(env).database.url))
    try:
        with store.unit_of_work() as uow:
            page = uow.webhook_deliveries.page(endpoint["id"], before=None, limit=10)
        assert [d.manual for d in page] == [True, False]
    finally:
        store.engine.dispose()
