"""Two redemptions of one code at the same moment yield exactly one token response, whether
they race in threads of one process or in separate processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from broker.app import build_broker
from broker.clock import FixedClock
from broker.http import HttpRequest
from broker.store.sql import SqlStore, make_engine
from tests.support.config import ISSUER, RP_CALLBACK, make_settings
from tests.support.databases import Database

if TYPE_CHECKING:
    from tests.support.harness import Harness

RACERS = 4


def token_request(harness: Harness, code: str, verifier: str | None) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier or "",
        "redirect_uri": RP_CALLBACK,
        "client_id": harness.client_id,
        "client_secret": harness.client_secret,
    }


def test_threads_racing_one_code_get_one_token(gatehouse: Harness) -> None:
    login, code = gatehouse.login_and_get_code()
    form = token_request(gatehouse, code, login.verifier)
    provider = gatehouse.client.app.state.broker.provider  # type: ignore[attr-defined]
    barrier = threading.Barrier(RACERS)

    def redeem(_: int) -> int:
        barrier.wait()
        status: int = provider.token(HttpRequest.post(f"{ISSUER}/token", form)).status
        return status

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(redeem, range(RACERS)))
    assert statuses == [200] + [400] * (RACERS - 1)


def _redeem_in_process(
    url: str,
    schema: str | None,
    var_dir: str,
    now: datetime,
    form: dict[str, str],
    barrier: Any,
    results: Any,
) -> None:
    store = SqlStore(make_engine(url, schema=schema))
    broker = build_broker(make_settings(Path(var_dir)), store=store, clock=FixedClock(now))
    request = HttpRequest.post(f"{ISSUER}/token", form)
    broker.keys.signing_key()  # warm up outside the race
    barrier.wait(timeout=30)
    results.put(broker.provider.token(request).status)


def test_processes_racing_one_code_get_one_token(
    gatehouse: Harness, database: Database, tmp_path: Path
) -> None:
    login, code = gatehouse.login_and_get_code()
    form = token_request(gatehouse, code, login.verifier)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(
            target=_redeem_in_process,
            args=(
                database.url,
                database.schema,
                str(tmp_path),
                gatehouse.clock.now(),
                form,
                barrier,
                results,
            ),
        )
        for _ in range(RACERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    statuses = sorted(results.get(timeout=5) for _ in range(RACERS))
    assert statuses == [200] + [400] * (RACERS - 1)
