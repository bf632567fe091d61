"""Rate limits of the login routes and `/token`, in process on SQLite and PostgreSQL with a
tiny configured budget and the FixedClock (12:00:00 on the dot, so a window has 60 s left).

People (the HTML routes) get a 429 page in words with the request's reference; machines
(`/token`) get OAuth JSON. Both carry `Retry-After`: the seconds left in the window. A
refused request runs one statement, the counter's, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.settings_rate_limits import RateLimitSettings
from broker.store import Store
from broker.store.sql import SqlStore
from tests.support.config import ISSUER, RP_CALLBACK
from tests.support.harness import Harness, build_harness

LIMITS = RateLimitSettings(
    authorize=3,
    login=3,
    callback=3,
    token_per_address=6,
    token_per_client=8,
    token_failure_weight=3,
)
HOME = "198.51.100.10"  # the person's (or Auth0's) own address
OTHER = "198.51.100.20"


@pytest.fixture
def limited(store: Store, tmp_path: Path) -> Iterator[Harness]:
    harness = build_harness(store, tmp_path, rate_limits=LIMITS)
    with harness.client:
        yield harness


def client_at(harness: Harness, address: str) -> TestClient:
    return TestClient(
        harness.client.app,
        base_url=ISSUER,
        raise_server_exceptions=False,
        follow_redirects=False,
        client=(address, 5000),
    )


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the broker runs inside the block."""
    assert isinstance(store, SqlStore)
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


# -- people: the HTML routes ----------------------------------------------------------------


def authorize(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.get("/authorize?" + urlencode(harness.new_login().params))
    return answer


def submit_email(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.post(
        "/login", data={"flow": "no-such-flow", "email": "ann@acme.test"}
    )
    return answer


def choose(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.post(
        "/login/choose", data={"flow": "no-such-flow", "connection": "con_x"}
    )
    return answer


def saml_acs(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.post(
        "/saml/con_acme/acs", data={"SAMLResponse": "x", "RelayState": "f"}
    )
    return answer


def oidc_callback(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.get("/oidc/con_acme/callback?state=f&code=c")
    return answer


def generic_callback(harness: Harness, browser: TestClient) -> httpx.Response:
    answer: httpx.Response = browser.get("/callback/con_acme?state=f&code=c")
    return answer


Send = Callable[[Harness, TestClient], httpx.Response]
PEOPLE_ROUTES = [authorize, submit_email, choose, saml_acs, oidc_callback, generic_callback]


@pytest.mark.parametrize("send", PEOPLE_ROUTES, ids=lambda send: send.__name__)
def test_a_person_over_the_limit_gets_a_page_that_says_to_wait(
    limited: Harness, send: Send
) -> None:
    browser = client_at(limited, HOME)
    for _ in range(3):
        assert send(limited, browser).status_code != 429
    with statements(limited.store) as run:
        refused = send(limited, browser)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["content-type"].startswith("text/html")
    assert refused.headers["cache-control"] == "no-store"
    assert "Wait a minute, then try again." in refused.text
    assert f"Reference: <code>{refused.headers['x-request-id']}</code>" in refused.text
    # The counter's upsert, and not one read of a flow, a client or a connection.
    assert [s for s in run if s.strip().upper() not in ("BEGIN", "COMMIT")] == [
        s for s in run if "rate_limits" in s
    ]
    assert len([s for s in run if "rate_limits" in s]) == 1
    # Another address is not slowed by this one.
    assert send(limited, client_at(limited, OTHER)).status_code != 429
    # The rest of the window, to the second; then a new window lets the person in again.
    limited.clock.advance(timedelta(seconds=45))
    assert send(limited, browser).headers["retry-after"] == "15"
    limited.clock.advance(timedelta(seconds=15))
    assert send(limited, browser).status_code != 429


def test_authorize_within_the_limit_starts_logins_and_a_refused_one_stores_no_flow(
    limited: Harness,
) -> None:
    browser = client_at(limited, HOME)
    for _ in range(3):
        assert authorize(limited, browser).status_code == 302
    flows = count_rows(limited.store, "flows")
    assert authorize(limited, browser).status_code == 429
    assert count_rows(limited.store, "flows") == flows


def test_a_flood_is_one_log_line_a_window(
    limited: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    browser = client_at(limited, HOME)
    with caplog.at_level(logging.WARNING, logger="broker.web.limits"):
        statuses = [authorize(limited, browser).status_code for _ in range(20)]
        assert statuses == [302] * 3 + [429] * 17
        limited.clock.advance(timedelta(minutes=1))
        assert [authorize(limited, browser).status_code for _ in range(5)][-1] == 429
    lines = [r.getMessage() for r in caplog.records if r.name == "broker.web.limits"]
    assert lines == [f"rate limit reached: authorize:{HOME}; refused until its window ends"] * 2


def test_the_email_lookup_and_the_chooser_share_one_budget(limited: Harness) -> None:
    browser = client_at(limited, HOME)
    assert submit_email(limited, browser).status_code != 429
    assert choose(limited, browser).status_code != 429
    assert submit_email(limited, browser).status_code != 429
    assert choose(limited, browser).status_code == 429
    # The other people routes count separately: a login in progress can finish.
    assert authorize(limited, browser).status_code == 302


# -- machines: /token -------------------------------------------------------------------------


def token(
    harness: Harness,
    address: str,
    *,
    client_id: str | None = None,
    secret: str | None = None,
    basic: bool = False,
) -> httpx.Response:
    """A code redemption with a code that does not exist: the client authenticates (400
    invalid_grant) unless the secret is wrong (401 invalid_client)."""
    client_id = client_id or harness.client_id
    secret = secret or harness.client_secret
    form = {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": RP_CALLBACK}
    browser = client_at(harness, address)
    answer: httpx.Response
    if basic:
        answer = browser.post("/token", data=form, auth=(client_id, secret))
    else:
        answer = browser.post(
            "/token", data=form | {"client_id": client_id, "client_secret": secret}
        )
    return answer


def test_a_machine_over_the_limit_gets_oauth_json_with_retry_after(limited: Harness) -> None:
    for _ in range(6):
        assert token(limited, HOME).json()["error"] == "invalid_grant"
    limited.clock.advance(timedelta(seconds=20))
    with statements(limited.store) as run:
        refused = token(limited, HOME)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "40"
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["cache-control"] == "no-store"
    body = refused.json()
    assert body["error"] == "temporarily_unavailable"
    assert "retry after 40 seconds" in body["error_description"]
    assert len([s for s in run if "rate_limits" in s]) == 1
    assert all("rate_limits" in s or s.strip().upper() in ("BEGIN", "COMMIT") for s in run)
    limited.clock.advance(timedelta(seconds=40))
    assert token(limited, HOME).json()["error"] == "invalid_grant"


def test_failed_client_authentication_locks_out_sooner_than_use(limited: Harness) -> None:
    """Each failure weighs 3 of the address's 6: the third attempt is refused, where a
    client that authenticates gets six."""
    guesser = "203.0.113.66"
    assert token(limited, guesser, secret="wrong").status_code == 401
    assert token(limited, guesser, secret="wrong").status_code == 401
    assert token(limited, guesser, secret="wrong").status_code == 429
    # Even the right secret, from that address, waits for the window to end.
    assert token(limited, guesser).status_code == 429
    # The client the guesser named keeps working from its own address (the weight is the
    # guesser's address's, not the client_id's anyone can name)...
    for _ in range(6):
        assert token(limited, HOME).json()["error"] == "invalid_grant"
    # ...and so does another client.
    other = token(limited, OTHER, client_id=limited.other_client_id,
                  secret=limited.other_client_secret)  # fmt: skip
    assert other.json()["error"] == "invalid_grant"
    limited.clock.advance(timedelta(minutes=1))
    assert token(limited, guesser).json()["error"] == "invalid_grant"


def test_a_client_spread_over_addresses_meets_its_own_limit(limited: Harness) -> None:
    """Per client_id (8), counted from the form or HTTP Basic alike, over every address;
    another client at the same address is not refused."""
    for _ in range(6):
        assert token(limited, HOME).status_code == 400
    assert token(limited, OTHER, basic=True).status_code == 400
    assert token(limited, OTHER, basic=True).status_code == 400
    refused = token(limited, OTHER, basic=True)
    assert refused.status_code == 429
    assert refused.json()["error"] == "temporarily_unavailable"
    other = token(limited, OTHER, client_id=limited.other_client_id,
                  secret=limited.other_client_secret)  # fmt: skip
    assert other.json()["error"] == "invalid_grant"


def count_rows(store: Store, table: str) -> int:
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        count: int = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    return count
