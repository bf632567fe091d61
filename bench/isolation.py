"""One customer's slow IdP against everyone else's logins (issue 12): `make bench-isolation`.

Gatehouse, the IdP simulator and a dripping OpenID Provider (`bench.slow_idp`) each run as
their own process on loopback. "Slow Corp" is connected to the dripping one; Example Labs
(OIDC) or Example Corp (SAML) to the simulator. The bench measures the healthy tenant's
complete logins twice, first alone, then while `--attackers` Slow Corp users keep arriving
at Gatehouse's callback with a code its IdP's token endpoint drips out a byte at a time, and
prints for each: logins/s and the p50/p99 of a whole login; and for Slow Corp's users how
long they waited for their "identity provider unreachable" page (held until the deadline,
refused at once by the connection's bulkhead, or at once once its circuit opened).

    python -m bench.isolation [--protocol oidc|saml] [--logins 200] [--concurrency 4]
                              [--attackers 40] [--deadline 10]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.console import say, stop_on_sigterm
from bench.errors import BenchSetupError
from bench.idp_legs import LEGS
from bench.logins import RunResult, run
from bench.relying_party import LoginError, fetch_keys, redirect
from bench.servers import Servers, free_port, running_servers, started
from broker.app import build_broker
from broker.model.records import Domain, Organization

SLOW_ORG = "org_bench_slow_corp"
SLOW_EMAIL = "bob@slow.example"


def seed_slow_corp(servers: Servers, issuer: str) -> str:
    """Slow Corp, its verified domain, and an OIDC connection to the dripping IdP, created
    through the management use case as an IT admin's would be (its discovery answers)."""
    broker = build_broker(servers.settings)
    try:
        now = broker.clock.now()
        with broker.store.unit_of_work() as uow:
            uow.organizations.add(Organization(id=SLOW_ORG, name="Slow Corp", created_at=now))
            uow.domains.add(Domain(organization_id=SLOW_ORG, name="slow.example", verified_at=now))
        saved = broker.management.connections.create_oidc(
            "bench", SLOW_ORG, {"issuer": issuer, "client_id": "gatehouse"},
            client_secret="not-a-secret",  # noqa: S106 - the dripping IdP checks nothing
        )  # fmt: skip
        return saved.connection.id
    finally:
        broker.close()


@dataclass
class Waits:
    """How long each Slow Corp user waited for their page, and where it came from."""

    seconds: list[float]
    at_authorize: int = 0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] if ordered else 0.0


class Attack:
    """`count` Slow Corp users, each arriving again as soon as they got their page."""

    def __init__(
        self,
        servers: Servers,
        slow_issuer: str,
        connection_id: str,
        count: int,
        *,
        retry_after: float,
    ) -> None:
        self._servers = servers
        self._retry_after = retry_after
        self._slow_issuer = slow_issuer
        self._connection_id = connection_id
        self._count = count
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.waits = Waits(seconds=[])
        self.errors: list[str] = []
        self._threads = [threading.Thread(target=self._user, daemon=True) for _ in range(count)]

    def __enter__(self) -> Attack:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _user(self) -> None:
        s = self._servers
        with httpx.Client(timeout=120, follow_redirects=False) as http:
            while not self._stop.is_set():
                began = time.perf_counter()
                to_idp = http.get(
                    f"{s.issuer}/authorize",
                    params={
                        "response_type": "code", "client_id": s.client_id,
                        "redirect_uri": s.redirect_uri, "scope": "openid email",
                        "login_hint": SLOW_EMAIL,
                    },
                )  # fmt: skip
                at_authorize = to_idp.status_code != 302
                page = to_idp if at_authorize else self._callback(http, to_idp)
                waited = time.perf_counter() - began
                with self._lock:
                    if page.status_code != 502:
                        self.errors.append(f"HTTP {page.status_code}: {page.text[:200]}")
                    self.waits.seconds.append(waited)
                    self.waits.at_authorize += at_authorize
                self._stop.wait(self._retry_after)  # a person trying again

    def _callback(self, http: httpx.Client, to_idp: httpx.Response) -> httpx.Response:
        location = redirect(to_idp, "slow authorize", f"{self._slow_issuer}/authorize?")
        state = httpx.URL(location).params["state"]
        return http.get(
            f"{self._servers.issuer}/oidc/{self._connection_id}/callback",
            params={"code": "a-code", "state": state},
        )


def _row(label: str, result: RunResult) -> str:
    return (
        f"{label:<44}  {result.logins:>6}  {result.per_second:>8.1f}  "
        f"{result.percentile(50):>7.1f}  {result.percentile(99):>7.1f}"
    )


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__)
    parser.add_argument("--protocol", choices=sorted(LEGS), default="oidc")
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--attackers", type=int, default=40)
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds per IdP request")
    parser.add_argument("--drip", type=float, default=1.0, help="seconds between dripped bytes")
    parser.add_argument(
        "--retry-after", type=float, default=1.0, help="seconds a Slow Corp user waits to retry"
    )
    parser.add_argument(
        "--no-bulkheads",
        action="store_true",
        help="for comparison: per-connection limits and breakers set out of reach (the "
        "deadline and the separate login pool still hold)",
    )
    args = parser.parse_args(argv)
    if args.logins < 1 or args.concurrency < 1 or args.attackers < 1:
        parser.error("--logins, --concurrency and --attackers must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    stop_on_sigterm()
    leg = LEGS[args.protocol]
    # (bench.servers sets the rate limits out of reach: every client here is 127.0.0.1.)
    environment = {"GATEHOUSE_UPSTREAM_DEADLINE_SECONDS": f"{args.deadline:g}"}
    if args.no_bulkheads:
        environment |= {
            "GATEHOUSE_UPSTREAM_MAX_IN_FLIGHT": "1000",
            "GATEHOUSE_UPSTREAM_BREAKER_FAILURES": "1000",
        }
    try:
        with tempfile.TemporaryDirectory(prefix="gatehouse-isolation-") as tmp:
            var = Path(tmp)
            with running_servers(var, environment=environment) as servers:
                port = free_port()
                slow_issuer = f"http://127.0.0.1:{port}"
                command = [
                    sys.executable, "-m", "bench.slow_idp", "--port", str(port),
                    "--drip-seconds", f"{args.drip:g}",
                ]  # fmt: skip
                health = f"{slow_issuer}/.well-known/openid-configuration"
                with started("slow_idp", command, os.environ, var, health_url=health):
                    return _measure(servers, slow_issuer, leg.protocol, args)
    except (BenchSetupError, LoginError) as exc:
        say(f"bench failed: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted; every process stopped.")
        return 130


def _measure(servers: Servers, slow_issuer: str, protocol: str, args: argparse.Namespace) -> int:
    leg = LEGS[protocol]
    connection_id = seed_slow_corp(servers, slow_issuer)
    say(
        f"Gatehouse {servers.issuer} (pid {servers.broker.pid}); simulator "
        f"{servers.simulator_url}; dripping IdP {slow_issuer}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; deadline {args.deadline:g} s"
    )
    keys = fetch_keys(servers)
    say(f"{leg.organization} ({protocol}): warm-up, then {args.logins} logins alone ...")
    run(servers, keys, leg, concurrency=1, logins=20)
    alone = run(servers, keys, leg, concurrency=args.concurrency, logins=args.logins)
    say(f"... again while {args.attackers} Slow Corp users wait on their dripping IdP ...")
    attack = Attack(
        servers, slow_issuer, connection_id, args.attackers, retry_after=args.retry_after
    )
    with attack:
        time.sleep(1.0)  # let the attackers reach the IdP first
        attacked = run(servers, keys, leg, concurrency=args.concurrency, logins=args.logins)
    say()
    header = f"{'':<44}  {'logins':>6}  {'logins/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}"
    say(header)
    say("-" * len(header))
    say(_row(f"{leg.organization}, alone", alone))
    say(_row(f"{leg.organization}, Slow Corp's IdP dripping", attacked))
    waits = attack.waits
    held = [w for w in waits.seconds if w >= 1.0]
    say()
    say(
        f"Slow Corp: {len(waits.seconds)} attempts got the 'identity provider unreachable' "
        f"page: {len(held)} after Gatehouse cut the IdP off (its {args.deadline:g} s deadline "
        f"or its minimum transfer rate), {len(waits.seconds) - len(held)} within 1 s (refused "
        f"by the connection's bulkhead; {waits.at_authorize} at /authorize, its circuit open)"
    )
    say(
        f"  wait p50 {waits.percentile(50):.2f} s, p99 {waits.percentile(99):.2f} s, "
        f"max {max(waits.seconds, default=0):.2f} s"
    )
    if attack.errors:
        say(f"  {len(attack.errors)} got something else; first: {attack.errors[0]}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
