"""Webhook delivery to a receiver on loopback (issue 16): `make bench-webhooks`.

Each worker is what one Gatehouse instance runs (`broker.webhooks.worker`, its own
connection pool on the one database), in a thread of this process; the receiver is a
threaded HTTP server answering 204. Two measurements, with 1 and then 2 workers:

- **throughput**: `--events` events recorded at once, then the time until the receiver
  has every one: events/s delivered;
- **delay**: events recorded one per transaction at `--rate` per second for `--seconds`,
  workers on their normal cycle (`--interval-ms`, jittered as in the app): from the
  event's commit to its arrival at the receiver, p50 and p99.

    python -m bench.webhooks [--events 2000] [--rate 50] [--seconds 5] [--endpoints 1]
                             [--interval-ms 1000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.console import say, stop_on_sigterm
from bench.databases import fresh_database
from broker.clock import SystemClock
from broker.keys.crypto import SecretBox
from broker.model.records import AuditEvent
from broker.model.webhooks import WebhookEndpoint
from broker.store.sql import SqlStore, make_engine
from broker.upstream.outbound import OutboundPolicy, make_client
from broker.web.lifespan import jittered
from broker.webhooks import signing
from broker.webhooks.worker import WebhookWorker


class _Receiver(ThreadingHTTPServer):
    request_queue_size = 512
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        #: (endpoint path, event id) -> seconds from the event's time to its arrival
        self.arrivals: dict[tuple[str, str], float] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Receiver

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        arrived = datetime.now(UTC)
        payload = json.loads(body)
        delay = (arrived - datetime.fromisoformat(payload["timestamp"])).total_seconds()
        with self.server.lock:
            self.server.arrivals.setdefault((self.path, self.headers["webhook-id"]), delay)
        self.send_response(204)
        self.send_header("connection", "close")
        self.send_header("content-length", "0")
        self.end_headers()


@contextmanager
def _receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class _Instances:
    """`count` workers, each with its own engine, looping run() every interval until
    stopped (the app's lifespan loop, in threads)."""

    def __init__(self, url: str, box: SecretBox, count: int, interval: timedelta) -> None:
        policy = OutboundPolicy.for_environment(production=False)
        self.stop = threading.Event()
        self.interval = interval
        self.parts = []
        for _ in range(count):
            store = SqlStore(make_engine(url))
            http = make_client(policy)
            worker = WebhookWorker(
                store=store, clock=SystemClock(), secret_box=box, http=http, policy=policy,
                render=lambda event: {"id": event.id, "type": event.kind},
            )  # fmt: skip
            self.parts.append((store, http, worker))
        self.threads = [threading.Thread(target=self._loop, args=(w,)) for _, _, w in self.parts]

    def _loop(self, worker: WebhookWorker) -> None:
        while not self.stop.is_set():
            worker.run(self.stop.is_set)
            self.stop.wait(jittered(self.interval) if self.interval else 0.01)

    def __enter__(self) -> _Instances:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        for store, http, worker in self.parts:
            worker.close()
            http.close()
            store.engine.dispose()


def _endpoints(store: SqlStore, box: SecretBox, url: str, count: int) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for n in range(count):
            endpoint_id = f"whe_bench_{n}"
            uow.webhook_endpoints.add(
                WebhookEndpoint(
                    id=endpoint_id, url=f"{url}/{n}", event_types=("organization.*",),
                    organization_id=None, enabled=True,
                    secret_encrypted=signing.seal(box, endpoint_id, signing.new_secret()),
                    previous_secret_encrypted=None, previous_secret_expires_at=None,
                    failing_since=None, disabled_reason=None, created_at=now, updated_at=now,
                    created_by="bench",
                )
            )  # fmt: skip


def _wait_for(receiver: _Receiver, expected: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with receiver.lock:
            if len(receiver.arrivals) >= expected:
                return time.monotonic()
        time.sleep(0.005)
    raise SystemExit(f"only {len(receiver.arrivals)} of {expected} arrived in {timeout} s")


def _throughput(url: str, workers: int, events: int, endpoints: int) -> float:
    box = SecretBox(os.urandom(32))
    store = SqlStore(make_engine(url))
    with _receiver() as receiver:
        _endpoints(store, box, receiver.url, endpoints)
        with store.unit_of_work() as uow:
            for n in range(events):
                uow.audit.record(AuditEvent(at=datetime.now(UTC), kind="organization.updated",
                                            detail={"n": n}))  # fmt: skip
        started = time.monotonic()
        with _Instances(url, box, workers, timedelta(0)):
            finished = _wait_for(receiver, events * endpoints, 300)
    _clear(store)
    return events * endpoints / (finished - started)


def _delay(url: str, workers: int, rate: int, seconds: float, interval: timedelta,
           endpoints: int) -> tuple[float, float, int]:  # fmt: skip
    box = SecretBox(os.urandom(32))
    store = SqlStore(make_engine(url))
    with _receiver() as receiver:
        _endpoints(store, box, receiver.url, endpoints)
        total = int(rate * seconds)
        with _Instances(url, box, workers, interval):
            started = time.monotonic()
            for n in range(total):
                time.sleep(max(0.0, started + n / rate - time.monotonic()))
                with store.unit_of_work() as uow:
                    uow.audit.record(AuditEvent(at=datetime.now(UTC), kind="organization.updated",
                                                detail={"n": n}))  # fmt: skip
            _wait_for(receiver, total * endpoints, 120)
        delays = list(receiver.arrivals.values())
    _clear(store)
    return _percentile(delays, 50), _percentile(delays, 99), len(delays)


def _clear(store: SqlStore) -> None:
    with store.engine.begin() as connection:
        for table in ("webhook_attempts", "webhook_deliveries", "webhook_outbox",
                      "webhook_endpoints", "audit_events"):  # fmt: skip
            connection.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - our names
    store.engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--endpoints", type=int, default=1)
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    interval = timedelta(milliseconds=args.interval_ms)
    with tempfile.TemporaryDirectory() as var, fresh_database(Path(var), args.database_url) as (
        url, label,
    ):  # fmt: skip
        say(f"webhooks to a loopback receiver, {label}, {args.endpoints} endpoint(s), "
            f"worker interval {args.interval_ms} ms")  # fmt: skip
        say("workers  events/s   delay p50   delay p99   (delay: rate "
            f"{args.rate}/s for {args.seconds:g} s)")  # fmt: skip
        for workers in (1, 2):
            rate = _throughput(url, workers, args.events, args.endpoints)
            p50, p99, count = _delay(
                url, workers, args.rate, args.seconds, interval, args.endpoints
            )
            say(f"{workers:>7}  {rate:>8.0f}   {p50 * 1000:>7.0f} ms  {p99 * 1000:>7.0f} ms"
                f"   ({count} delayed events)")  # fmt: skip


if __name__ == "__main__":
    main()
