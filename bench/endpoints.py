"""Gatehouse's CPU per endpoint of a login (issue 18, item 1): authorize, IdP return (the
SAML ACS or the OIDC callback), token, userinfo.

How, and why this way: the logins run in *lockstep phases*. `concurrency` virtual users each
do one phase of their login (all authorizes, say), wait for each other at a barrier, and only
then does anyone start the next phase; between two phases Gatehouse is idle, and the bench
reads the broker's CPU there (`ThreadCpu`: every thread's time on CPU, to the nanosecond,
from /proc/<pid>/task/*/schedstat, of the broker process and, with `--workers`, of every
process in its tree: uvicorn's supervisor and workers). The CPU spent between the start
and the end of a phase is that endpoint's, all of it: HTTP parsing in uvicorn, the event
loop, middleware, the endpoint, and its worker-thread hop, whichever threads did it.

The alternatives were less honest. Timing around the handler inside the app (an ASGI
middleware summing `time.thread_time()`) misses uvicorn's parsing and the event loop's own
work, and at concurrency 8 the event loop thread interleaves requests, so a per-request
thread clock would count other requests' work; cProfile's cumulative time per handler is
inflated by the profiler itself, unevenly (pure-Python code pays more than C).

What it does not capture: background work that happens to run during a phase (none on the
login path; the rate limiter's counters are part of each request) is charged to that phase,
and the lockstep changes the load's shape (no overlap between phases), so the per-endpoint
figures come from their own pass, after the free-running one that gives logins/s, latencies
and total CPU per login. Their sum is printed beside that total as a check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from joserfc.jwk import KeySet

from bench.process_cpu import ThreadCpu
from bench.relying_party import PHASES, IdpLeg, LoginError, VirtualUser
from bench.servers import Servers

#: The phases that are Gatehouse endpoints (the "idp" phase is the browser at the IdP; any
#: Gatehouse CPU there would be background work, and is shown too, as a check).
ENDPOINTS = ("authorize", "idp_return", "token", "userinfo")


@dataclass
class EndpointCpu:
    """Gatehouse CPU per phase, summed over `logins` logins, in nanoseconds."""

    logins: int = 0
    cpu_ns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    #: One SAMLResponse (base64, as posted) the bench's logins received, for `bench.floor`.
    saml_response: str | None = None

    def ms_per_login(self, phase: str) -> float:
        return self.cpu_ns[phase] / 1e6 / max(self.logins, 1)

    @property
    def total_ms_per_login(self) -> float:
        return sum(self.cpu_ns.values()) / 1e6 / max(self.logins, 1)


def measure(
    servers: Servers, keys: KeySet, leg: IdpLeg, *, concurrency: int, logins: int
) -> EndpointCpu:
    """`logins` logins (rounded up to whole rounds of `concurrency`) in lockstep phases,
    Gatehouse's CPU read between phases."""
    users = [VirtualUser(servers, keys, leg) for _ in range(concurrency)]
    rounds = -(-logins // concurrency)
    go = threading.Barrier(concurrency + 1)
    done = threading.Barrier(concurrency + 1)
    failures: list[BaseException] = []

    def work(user: VirtualUser) -> None:
        try:
            for _ in range(rounds):
                steps = user.steps()
                for _phase in PHASES:
                    go.wait()
                    try:
                        next(steps)
                    except Exception as exc:
                        failures.append(exc)
                        go.abort()
                        done.abort()
                        return
                    done.wait()
        except threading.BrokenBarrierError:
            return

    result = EndpointCpu()
    threads = [threading.Thread(target=work, args=(user,), daemon=True) for user in users]
    try:
        for thread in threads:
            thread.start()
        cpu = ThreadCpu(servers.broker.pid)
        try:
            for _ in range(rounds):
                for phase in PHASES:
                    before = cpu.read_ns()
                    go.wait()
                    done.wait()
                    result.cpu_ns[phase] += cpu.read_ns() - before
                result.logins += concurrency
        except threading.BrokenBarrierError:
            pass
        for thread in threads:
            thread.join()
        request = users[0].last_idp_return
        if leg.protocol == "saml" and request is not None:
            result.saml_response = _form_field(request.content, "SAMLResponse")
    finally:
        for user in users:
            user.close()
    if failures:
        raise LoginError(f"{leg.protocol}: a lockstep login failed: {failures[0]!r}")
    return result


def _form_field(body: bytes, name: str) -> str | None:
    values = parse_qs(body.decode("ascii")).get(name)
    return values[0] if values else None
