"""What Gatehouse's stack costs a login before any of its own logic (issue 18): the parts
every request and every transaction pays whatever it does, measured in the same run as
the floor (`bench.floor`), so the distance to the goal can be split into what the stack
takes and what Gatehouse's code takes.

- request: the broker's CPU per `GET /healthz` over one keep-alive connection, read from
  the running broker's threads (`ThreadCpu`): uvicorn (httptools, uvloop, the socket's
  system calls), Starlette's routing and exception handling, Gatehouse's middleware. No
  thread hop, no database: the health probe answers from the event loop. A login makes
  `REQUESTS_PER_LOGIN` requests to Gatehouse.
- hop: one round trip to a worker thread as the broker makes it (`anyio.to_thread.run_sync`
  under uvloop), timed in this process. The core is synchronous (docs/architecture.md), so
  each of a login's requests hops once.
- transaction: one unit of work that does nothing (`SELECT 1` between BEGIN and COMMIT) on
  the same kind of database, opened with the broker's `make_engine` (on SQLite: `BEGIN
  IMMEDIATE`, the WAL, a fresh file beside the broker's; on PostgreSQL: the round trips),
  timed in this process. A login runs `TRANSACTIONS_PER_LOGIN` of them (pinned by
  tests/broker/login/test_transactions_per_login.py).

Like the floor, it is a measurement, not a target: it shows how much of a goal of a few
milliseconds per login the stack alone spends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
import httpx
import sqlalchemy as sa
import uvloop

from bench.endpoints import ENDPOINTS
from bench.process_cpu import ThreadCpu
from bench.servers import Servers
from broker.store.sql import make_engine

#: Authorize, the IdP's return (ACS or callback), token, userinfo.
REQUESTS_PER_LOGIN = len(ENDPOINTS)
#: Units of work per login: authorize 3 (rate limit, client and routing, the flow), the
#: IdP's return 3 (rate limit, the answer, the login's end), token 2 (rate limit, the
#: code), userinfo 1; SAML adds the assertion's replay-cache entry.
TRANSACTIONS_PER_LOGIN = {"saml": 10, "oidc": 9}
_WARMUP = 50


@dataclass(frozen=True)
class StackCost:
    """CPU ms per request, per hop and per transaction."""

    request_ms: float
    hop_ms: float
    transaction_ms: float

    def per_login_ms(self, protocol: str) -> float:
        return (
            REQUESTS_PER_LOGIN * (self.request_ms + self.hop_ms)
            + TRANSACTIONS_PER_LOGIN[protocol] * self.transaction_ms
        )

    def describe(self, protocol: str) -> str:
        return (
            f"stack per login {self.per_login_ms(protocol):.2f} ms = "
            f"{REQUESTS_PER_LOGIN} requests x {self.request_ms:.3f} (uvicorn, Starlette, "
            f"middleware) + {REQUESTS_PER_LOGIN} thread hops x {self.hop_ms:.3f} + "
            f"{TRANSACTIONS_PER_LOGIN[protocol]} empty transactions x {self.transaction_ms:.3f}"
        )


def measure(servers: Servers, *, var_dir: Path, iterations: int) -> StackCost:
    return StackCost(
        request_ms=_request_ms(servers, iterations),
        hop_ms=_hop_ms(iterations),
        transaction_ms=_transaction_ms(servers.database_url, var_dir, iterations),
    )


def _request_ms(servers: Servers, iterations: int) -> float:
    broker = ThreadCpu(servers.broker.pid)
    url = f"{servers.issuer}/healthz"
    with httpx.Client(timeout=10) as client:
        for _ in range(_WARMUP):
            client.get(url).raise_for_status()
        began = broker.read_ns()
        for _ in range(iterations):
            client.get(url).raise_for_status()
        return (broker.read_ns() - began) / 1e6 / iterations


def _hop_ms(iterations: int) -> float:
    async def hops() -> float:
        for _ in range(_WARMUP):
            await anyio.to_thread.run_sync(_nothing)
        began = time.process_time()
        for _ in range(iterations):
            await anyio.to_thread.run_sync(_nothing)
        return (time.process_time() - began) * 1000 / iterations

    return uvloop.run(hops())


def _nothing() -> None:
    return None


def _transaction_ms(database_url: str, var_dir: Path, iterations: int) -> float:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{var_dir / 'stack.sqlite3'}"
    engine = make_engine(database_url)
    select_one = sa.text("SELECT 1")

    def transaction() -> None:
        with engine.begin() as connection:
            connection.execute(select_one).one()

    try:
        for _ in range(_WARMUP):
            transaction()
        began = time.process_time()
        for _ in range(iterations):
            transaction()
        return (time.process_time() - began) * 1000 / iterations
    finally:
        engine.dispose()
