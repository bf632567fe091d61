"""Complete SAML logins over real HTTP, timed: `make bench` / `python -m bench.saml_login`.

One login is everything a relying party and a browser do: `/authorize` (PKCE S256, state,
nonce, login_hint) → the simulator's `/sso` → its login form → the auto-post of the
SAMLResponse to Gatehouse's ACS → the redirect to the RP with a code → `/token`
(client_secret_post) → the ID token checked (RS256 signature against the JWKS fetched once,
iss, aud, nonce, email, exp). Each virtual user is a thread with its own `httpx.Client`, so
its own cookies, as separate browsers have.

The figures: logins/s and whole-login latency percentiles at each concurrency, and the CPU
the broker process (utime + stime from /proc, every thread of it) spent per login. The
simulator's CPU is shown separately for context; the client's own work is in neither.
Nothing here asserts a time: it reports.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import itertools
import math
import os
import platform
import pstats
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from bench.servers import BenchSetupError, Servers, cpu_seconds, running_servers

DEFAULT_LOGINS = 200
DEFAULT_WARMUP = 20
DEFAULT_CONCURRENCY = (1, 8)
EMAIL = "alice@example.com"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_HTTP_TIMEOUT = httpx.Timeout(60.0)


class LoginError(RuntimeError):
    """A step of a login did not answer as a working broker must."""


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# -- one virtual user -------------------------------------------------------------------


class VirtualUser:
    """A browser plus the relying party it logs in to: one cookie jar, many logins."""

    def __init__(self, servers: Servers, keys: KeySet) -> None:
        self._servers = servers
        self._keys = keys
        self.http = httpx.Client(timeout=_HTTP_TIMEOUT, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def login(self) -> dict[str, Any]:
        """One complete login; returns the verified ID token claims."""
        s = self._servers
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        to_idp = self.http.get(
            f"{s.issuer}/authorize",
            params={
                "response_type": "code",
                "client_id": s.client_id,
                "redirect_uri": s.redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
                "login_hint": EMAIL,
            },
        )
        location = _redirect(to_idp, "authorize", f"{s.simulator_url}/sso?")
        page = _expect(self.http.get(location), 200, "simulator /sso")
        pending = dict(_HIDDEN.findall(page.text)).get("pending")
        if not pending:
            raise LoginError("simulator login page without a pending key")
        autopost = _expect(
            self.http.post(
                f"{s.simulator_url}/sso/login",
                data={
                    "pending": pending,
                    "email": EMAIL,
                    "given_name": "Alice",
                    "family_name": "Example",
                    "groups": "engineering",
                    "attributes": "",
                    "scenario": "success",
                    "sign": "both",
                },
            ),
            200,
            "simulator /sso/login",
        )
        action = _FORM_ACTION.search(autopost.text)
        if action is None:
            raise LoginError("simulator auto-post page without a form")
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(autopost.text)}
        back = self.http.post(html.unescape(action.group(1)), data=fields)
        callback = _redirect(back, "ACS", f"{s.redirect_uri}?")
        params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        if params.get("state") != state or params.get("iss") != s.issuer or "code" not in params:
            raise LoginError(f"bad authorization response: {sorted(params)}")
        token = _expect(
            self.http.post(
                f"{s.issuer}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": params["code"],
                    "redirect_uri": s.redirect_uri,
                    "code_verifier": verifier,
                    "client_id": s.client_id,
                    "client_secret": s.client_secret,
                },
            ),
            200,
            "token",
        ).json()
        return self._verify(str(token["id_token"]), nonce)

    def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        decoded = jwt.decode(id_token, self._keys, algorithms=["RS256"])
        claims = dict(decoded.claims)
        s = self._servers
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = [
            name
            for name, ok in (
                ("iss", claims.get("iss") == s.issuer),
                ("aud", s.client_id in audiences),
                ("nonce", claims.get("nonce") == nonce),
                ("email", claims.get("email") == EMAIL),
                ("exp", isinstance(claims.get("exp"), int) and claims["exp"] > time.time()),
            )
            if not ok
        ]
        if problems:
            raise LoginError(f"ID token claims wrong: {problems}")
        return claims


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise LoginError(f"{step}: HTTP {response.status_code}: {response.text[:300]}")
    return response


def _redirect(response: httpx.Response, step: str, prefix: str) -> str:
    _expect(response, 302, step)
    location = str(response.headers.get("location", ""))
    if not location.startswith(prefix):
        raise LoginError(f"{step}: redirect to {location[:120]!r}, expected {prefix!r}")
    return location


# -- runs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    concurrency: int
    logins: int
    wall_s: float
    latencies_ms: tuple[float, ...]
    broker_cpu_s: float
    simulator_cpu_s: float

    @property
    def per_second(self) -> float:
        return self.logins / self.wall_s

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the login latencies, in ms."""
        ordered = sorted(self.latencies_ms)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1]


def run(servers: Servers, keys: KeySet, *, concurrency: int, logins: int) -> RunResult:
    """`logins` logins shared among `concurrency` threads, each a virtual user."""
    users = [VirtualUser(servers, keys) for _ in range(concurrency)]
    tickets = itertools.count()
    tickets_lock = threading.Lock()
    latencies: list[float] = []
    failures: list[BaseException] = []
    results_lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def work(user: VirtualUser) -> None:
        start.wait()
        while True:
            with tickets_lock:
                if next(tickets) >= logins or failures:
                    return
            began = time.perf_counter()
            try:
                user.login()
            except Exception as exc:
                with results_lock:
                    failures.append(exc)
                return
            elapsed_ms = (time.perf_counter() - began) * 1000
            with results_lock:
                latencies.append(elapsed_ms)

    threads = [threading.Thread(target=work, args=(user,), daemon=True) for user in users]
    try:
        for thread in threads:
            thread.start()
        broker_before = cpu_seconds(servers.broker.pid)
        simulator_before = cpu_seconds(servers.simulator.pid)
        began = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        broker_cpu = cpu_seconds(servers.broker.pid) - broker_before
        simulator_cpu = cpu_seconds(servers.simulator.pid) - simulator_before
    finally:
        for user in users:
            user.close()
    if failures:
        raise LoginError(f"{len(failures)} login(s) failed; first: {failures[0]!r}")
    return RunResult(
        concurrency=concurrency,
        logins=len(latencies),
        wall_s=wall,
        latencies_ms=tuple(latencies),
        broker_cpu_s=broker_cpu,
        simulator_cpu_s=simulator_cpu,
    )


def report(results: Sequence[RunResult]) -> str:
    header = (
        f"{'concurrency':>11}  {'logins':>6}  {'logins/s':>8}  {'p50 ms':>7}  {'p95 ms':>7}  "
        f"{'p99 ms':>7}  {'Gatehouse CPU ms/login':>22}  {'simulator CPU ms/login':>22}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.concurrency:>11}  {r.logins:>6}  {r.per_second:>8.1f}  "
            f"{r.percentile(50):>7.1f}  {r.percentile(95):>7.1f}  {r.percentile(99):>7.1f}  "
            f"{r.broker_cpu_s * 1000 / r.logins:>22.2f}  "
            f"{r.simulator_cpu_s * 1000 / r.logins:>22.2f}"
        )
    return "\n".join(lines)


def fetch_keys(servers: Servers) -> KeySet:
    """The JWKS, fetched once (the discovery document names it) and shared read-only."""
    with httpx.Client(timeout=_HTTP_TIMEOUT) as http:
        discovery = _expect(
            http.get(f"{servers.issuer}/.well-known/openid-configuration"), 200, "discovery"
        ).json()
        if discovery.get("issuer") != servers.issuer:
            raise LoginError(f"discovery issuer {discovery.get('issuer')!r}")
        jwks = _expect(http.get(str(discovery["jwks_uri"])), 200, "jwks").json()
    return KeySet.import_key_set(jwks)


# -- command line -----------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.saml_login",
        description="Complete SAML logins over real HTTP against Gatehouse and the IdP "
        "simulator, each started here as its own process.",
    )
    parser.add_argument("--logins", type=int, default=DEFAULT_LOGINS, help="per concurrency")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=list(DEFAULT_CONCURRENCY), metavar="N"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL to bench on, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test "
        "(a fresh schema, dropped afterwards); default: a SQLite file in a temporary dir",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run the broker under cProfile (bench.profiled_broker), write pstats to FILE "
        "and print the top entries; CPU figures are then inflated by the profiler",
    )
    parser.add_argument("--top", type=int, default=30, help="profile entries to print")
    args = parser.parse_args(argv)
    if args.logins < 1 or args.warmup < 0 or min(args.concurrency) < 1:
        parser.error("--logins and --concurrency must be positive, --warmup not negative")
    return args


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    profile = args.profile.resolve() if args.profile else None
    results: list[RunResult] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="gatehouse-bench-") as tmp,
            running_servers(
                Path(tmp), database_url=args.database_url, profile_path=profile
            ) as servers,
        ):
            _say(
                f"Gatehouse {servers.issuer} (pid {servers.broker.pid}), simulator "
                f"{servers.simulator_url} (pid {servers.simulator.pid})"
            )
            _say(
                f"database: {servers.database}; {os.cpu_count()} CPUs; "
                f"Python {platform.python_version()}"
                + ("; broker under cProfile" if profile else "")
            )
            keys = fetch_keys(servers)
            if args.warmup:
                _say(f"warm-up: {args.warmup} logins ...")
                run(servers, keys, concurrency=1, logins=args.warmup)
            for concurrency in args.concurrency:
                _say(f"measuring: {args.logins} logins at concurrency {concurrency} ...")
                results.append(run(servers, keys, concurrency=concurrency, logins=args.logins))
    except (BenchSetupError, LoginError) as exc:
        _say(f"bench failed: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted; every process stopped.")
        return 130
    _say()
    _say(report(results))
    if profile is not None:
        _say(f"\nbroker profile written to {profile} (all threads, including warm-up)")
        _print_profile(profile, args.top)
    return 0


def _print_profile(path: Path, top: int) -> None:
    for order in ("tottime", "cumulative"):
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(top)


if __name__ == "__main__":
    raise SystemExit(main())
