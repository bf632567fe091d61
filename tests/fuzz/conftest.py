"""The fuzz tier's fixtures: one Gatehouse per test (on each backend), a raw client to it,
and a watch on the log that turns an ERROR record or a traceback into a failure."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from joserfc.jwk import RSAKey

from broker.management.dns_txt import DnsTxtLookup
from broker.store import Store
from tests.support.dns_server import AnyNameZone, dns_server
from tests.support.fuzz_world import FuzzWorld, build_fuzz_world
from tests.support.raw_asgi import RawAnswer, raw_client

#: `GATEHOUSE_FUZZ_SCALE=10 pytest tests/fuzz` runs ten times the examples (same seed).
SCALE = float(os.environ.get("GATEHOUSE_FUZZ_SCALE", "1"))
#: `GATEHOUSE_FUZZ_RANDOM=1`: new examples each run, to explore; a failure prints the
#: `@reproduce_failure` blob that replays it.
RANDOM = os.environ.get("GATEHOUSE_FUZZ_RANDOM") == "1"


def fuzz(max_examples: int) -> settings:
    """Reproducible: `derandomize` draws the same examples on every run, from the test's
    own name, so a failure in CI is the failure on a laptop; no example database is kept.
    No deadline: two cores shared with other work time nothing reliably."""
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            # The world is built once per test and shared by its examples on purpose:
            # state left by one example (a claimed domain, a spent flow) is more to hit.
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


class Watch(logging.Handler):
    """Every log record; the ones a fuzzer must never cause: ERROR and above, any record
    carrying a traceback, and any record that cannot be written (its arguments do not fit
    its format, or it holds text no UTF-8 log file takes)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            message.encode("utf-8")
        except Exception as exc:
            self.bad.append(f"{record.name}: unwritable record ({exc!r}): {record.msg!r}")
            return
        if record.levelno >= logging.ERROR or record.exc_info:
            formatted = logging.Formatter().format(record)
            self.bad.append(f"{record.levelname} {record.name}: {formatted}"[:4000])

    def clear(self) -> None:
        self.bad.clear()

    def check(self, answer: RawAnswer, what: str, *, hostile_idp: bool = False) -> None:
        """Fails on a 5xx, an exception that escaped the app, or a bad log record.

        `hostile_idp`: the fuzzed party is the IdP behind Gatehouse, not the request. Its
        garbage is then answered, correctly, with the "identity provider cannot be reached"
        or "not set up correctly" page: 502 Bad Gateway, rendered, with a reference. That
        502, and only that, is accepted."""
        if os.environ.get("FUZZ_DEBUG"):
            print("STATUS", what.split(" ")[0:2], answer.status)
        problems = list(self.bad)
        if answer.escaped is not None:
            problems.append(f"escaped: {answer.escaped!r}")
        upstream_page = (
            hostile_idp
            and answer.status == 502
            and "Reference: <code>" in answer.text
            and ("cannot be reached" in answer.text or "not set up correctly" in answer.text)
        )
        if answer.status >= 500 and not upstream_page:
            problems.append(f"status {answer.status}: {answer.text[:500]}")
        self.clear()
        assert not problems, f"{what}\n" + "\n".join(problems)


@pytest.fixture
def watch() -> Iterator[Watch]:
    handler = Watch()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture(scope="session")
def op_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


#: What every TXT lookup answers: bytes that are not UTF-8, text that is not ASCII, a
#: verification value for no claim.
TXT_ANSWERS = (b"\xff\xfe", "gatehouse-domain-verification=é", b"\x00" * 255, "x")


@pytest.fixture
def world(store: Store, tmp_path: Path, op_key: RSAKey, watch: Watch) -> Iterator[FuzzWorld]:
    with dns_server(AnyNameZone(*TXT_ANSWERS)) as (_, nameserver):
        built = build_fuzz_world(store, tmp_path, op_key=op_key, dns=DnsTxtLookup(nameserver))
        with raw_client(built.app) as raw:
            built.raw = raw
            watch.clear()  # building the world logs what it logs (the development warning)
            yield built


def api_token(world: FuzzWorld, scopes: list[str]) -> str:
    """A management API access token with `scopes`, as an app team's client gets one."""
    from broker.management.access import api_audience, register_management_client
    from tests.support.config import ISSUER

    with world.store.unit_of_work() as uow:
        registered = register_management_client(
            uow, name="fuzz", scopes=scopes, now=world.clock.now()
        )
    form = {
        "grant_type": "client_credentials", "client_id": registered.client.client_id,
        "client_secret": registered.client_secret, "audience": api_audience(ISSUER),
    }  # fmt: skip
    answer = world.browser().post("/token", data=form)
    assert answer.status_code == 200, answer.text
    access: str = answer.json()["access_token"]
    return access
