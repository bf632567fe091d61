"""`gatehouse serve --workers 2` as a real process on loopback: every worker counts into
files of one private directory, and a scrape, whichever worker serves it or the separate
listener, adds all of them up (prometheus_client's multiprocess mode).

The requests are answers for a connection that does not exist (each a refused login,
`unknown_connection`, and a timed callback step), sent on fresh connections, several at a
time, until both workers have served some. What each worker counted is read from its own
file, so the test knows the scrape is the sum, not one worker's share.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.config import TEST_SECRET_KEY
from tests.support.live_server import free_port
from tests.support.metrics_scrape import AUTHORIZATION, TOKEN, Scrape
from tests.support.processes import BrokerProcess, gatehouse, gatehouse_serve

pytestmark = pytest.mark.e2e

WORKERS = 2
REFUSED = {"protocol": "unknown", "outcome": "refused", "reason": "unknown_connection"}
#: Enough requests that both workers serve some; the test stops sending once they have.
MAX_REQUESTS = 600
BATCH = 20


@dataclass
class Served:
    process: BrokerProcess
    listener: str
    var_dir: Path

    def shared_directory(self) -> Path:
        found = list(self.var_dir.glob("metrics-*"))
        assert len(found) == 1, found
        return found[0]

    def counted_by_each_worker(self) -> dict[str, float]:
        """Refused logins per worker PID, from each worker's own counter file."""
        counts = {}
        for path in self.shared_directory().glob("counter_*.db"):
            pid = path.stem.removeprefix("counter_")
            merged = MultiProcessCollector.merge([str(path)])  # type: ignore[no-untyped-call]
            counts[pid] = sum(
                sample.value
                for family in merged
                for sample in family.samples
                if sample.name == "gatehouse_logins_total" and sample.labels == REFUSED
            )
        return counts


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    var_dir = tmp_path / "var"
    var_dir.mkdir()  # where development keeps its database and key: the directory goes there
    listener_port = free_port()
    env = {
        **os.environ,
        "GATEHOUSE_ENV": "development",
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'gatehouse.sqlite3'}",
        "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(TEST_SECRET_KEY).decode(),
        "GATEHOUSE_METRICS_TOKEN": TOKEN,
        "GATEHOUSE_METRICS_LISTEN": f"127.0.0.1:{listener_port}",
        "GATEHOUSE_RATE_LIMIT_CALLBACK": str(MAX_REQUESTS * 10),
        "GATEHOUSE_LOG_LEVEL": "error",  # a refusal is a warning line each
        # No background work: a purge, tick or webhook run in flight at the scrape would hold
        # a pooled connection, and the test reads the pool's checked-out count as zero.
        "GATEHOUSE_PURGE_INTERVAL_SECONDS": "0",
        "GATEHOUSE_WEBHOOK_INTERVAL_MS": "0",
        "GATEHOUSE_JOBS_TICK_SECONDS": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gatehouse(env, "migrate")
    with gatehouse_serve(env, port=free_port(), workers=WORKERS, log_dir=tmp_path) as process:
        yield Served(process, f"http://127.0.0.1:{listener_port}", var_dir)


def answer_for_nobody(url: str) -> None:
    """On a connection of its own, so the server's accept decides which worker serves it."""
    with httpx.Client() as client:
        answer = client.post(f"{url}/saml/con_nobody/acs", data={"SAMLResponse": "x"})
    assert answer.status_code == 404, answer.text


def test_a_scrape_adds_up_every_workers_metrics(served: Served) -> None:
    url = served.process.url
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while sent < MAX_REQUESTS:
            list(pool.map(answer_for_nobody, [url] * BATCH))
            sent += BATCH
            by_worker = served.counted_by_each_worker()
            if len(by_worker) == WORKERS and all(by_worker.values()):
                break
    assert len(by_worker) == WORKERS, (sent, by_worker)
    assert all(by_worker.values()), (sent, by_worker)
    assert sum(by_worker.values()) == sent

    # Each worker answers scrapes with the sum, as does the listener beside them.
    scrapes = []
    for _ in range(6):
        with httpx.Client() as client:  # a new connection: any worker may take it
            answer = client.get(f"{url}/metrics", headers=AUTHORIZATION)
        assert answer.status_code == 200, answer.text
        scrapes.append(Scrape.parse(answer.text))
    listened = httpx.get(f"{served.listener}/metrics")
    assert listened.status_code == 200
    scrapes.append(Scrape.parse(listened.text))
    for scrape in scrapes:
        assert scrape.value("gatehouse_logins_total", **REFUSED) == sent
        assert scrape.value("gatehouse_login_step_seconds_count", step="callback") == sent
        # Gauges are summed over the live workers: each has a pool of five.
        assert scrape.value("gatehouse_db_pool_size") == 10 * WORKERS
        assert scrape.value("gatehouse_db_pool_checked_out") == 0

    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{served.listener}/").status_code == 404


def test_the_shared_directory_is_private_and_removed_when_the_server_stops(
    served: Served,
) -> None:
    directory = served.shared_directory()
    assert directory.stat().st_mode & 0o777 == 0o700
    workers = served.process.worker_pids()
    assert len(workers) == WORKERS
    assert {p.name for p in directory.glob("histogram_*.db")} == {
        f"histogram_{pid}.db" for pid in workers
    }
    served.process.popen.terminate()
    assert served.process.popen.wait(timeout=15) == 0
    assert not directory.exists()
