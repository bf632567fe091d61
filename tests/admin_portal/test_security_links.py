"""Portal links at the edges of their life (docs/security.md, "Admin portal").

- T-02: a link's expiry is checked when it is redeemed (an interstitial loaded before the
  expiry does not redeem after it), a session's idle and absolute limits on every request,
  each to the second on the FixedClock.
- T-03: a second redemption is refused *and* the organization hears of it: a refused token
  that is a link's (used up, expired, revoked) is a `portal_link.refused` event the app
  team reads through the management API, with no token in it; an unknown token is only
  logged. The person sees the same page whichever it was.
- T-07: brute force. Redemptions are limited per client address (30 a minute) and for all
  clients together (300 a minute): guesses beyond either get 429 and open no session, a
  correct token is refused too until the minute passes, and the counters are the
  database's, so two broker instances count into the same ones.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from broker.model.opaque import hash_secret
from broker.settings_rate_limits import RateLimitSettings
from broker.store import NotFound, Store
from broker.store.sql import SqlStore
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.management_api import app_team

ORIGIN = {"Origin": ISSUER}
REDEEMS_PER_MINUTE = RateLimitSettings().portal_link
REDEEMS_PER_MINUTE_ALL = RateLimitSettings().portal_link_all


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def redeem(browser: TestClient, token: str) -> httpx.Response:
    """The interstitial's Continue, as the browser sends it."""
    answer: httpx.Response = browser.post(
        "/portal/link", data={"token": token}, headers=ORIGIN, follow_redirects=False
    )
    return answer


def browser_at(world: Gatehouse, address: str) -> TestClient:
    return TestClient(
        world.app, base_url=ISSUER, raise_server_exceptions=False, client=(address, 50000)
    )


def sessions_stored(store: Store) -> int:
    assert isinstance(store, SqlStore)
    with store.engine.connect() as connection:
        count: int = connection.execute(
            sa.text("SELECT count(*) FROM portal_sessions")
        ).scalar_one()
    return count


def refusals(world: Gatehouse, organization_id: str) -> list[dict[str, Any]]:
    """The app team's view: GET /api/v1/events?type=portal_link.refused, oldest first."""
    answer = app_team(world).get(
        "/events", params={"organization_id": organization_id, "type": "portal_link.refused"}
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return list(reversed(items))


def page_text(response: httpx.Response) -> str:
    """The page a person reads, without what differs on every response (the reference,
    the style nonce)."""
    text = response.text.replace(response.headers["x-request-id"], "REF")
    return re.sub(r'nonce="[^"]+"', 'nonce=""', text)


# -- T-02: expiry at redemption and on every session use ---------------------------------


def test_a_link_is_redeemable_until_the_second_it_expires(world: Gatehouse) -> None:
    org = world.organization()
    url = world.link(org.id, ttl_sec=300)
    early, late = world.browser(), world.browser()
    assert early.get(urlsplit(url).path).status_code == 200
    assert late.get(urlsplit(url).path).status_code == 200  # the interstitial, loaded in time
    world.clock.advance(timedelta(seconds=299))
    assert redeem(early, token_of(url)).status_code == 303
    world.clock.advance(timedelta(seconds=1))
    refused = redeem(late, token_of(url))
    assert refused.status_code == 410
    assert "set-cookie" not in refused.headers
    assert late.get("/portal/").status_code == 401


def test_a_session_ends_at_its_idle_limit_to_the_second(world: Gatehouse) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    world.clock.advance(timedelta(minutes=30) - timedelta(seconds=1))
    assert browser.get("/portal/").status_code == 200  # and this use restarts the idle time
    world.clock.advance(timedelta(minutes=30) - timedelta(seconds=1))
    assert browser.get("/portal/").status_code == 200
    world.clock.advance(timedelta(minutes=30))
    assert browser.get("/portal/").status_code == 401


def test_a_session_ends_at_its_absolute_limit_to_the_second(world: Gatehouse) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    for _ in range(16):  # active every 29 minutes: 7 h 44 min
        world.clock.advance(timedelta(minutes=29))
        assert browser.get("/portal/").status_code == 200
    world.clock.advance(timedelta(minutes=16) - timedelta(seconds=1))
    assert browser.get("/portal/").status_code == 200  # 7:59:59
    world.clock.advance(timedelta(seconds=1))
    assert browser.get("/portal/").status_code == 401  # 8:00:00


# -- T-03: a refused redemption is an event for the organization ----------------------------


def test_a_second_redemption_is_refused_and_the_organization_hears_of_it(
    world: Gatehouse,
) -> None:
    org = world.organization()
    url = world.link(org.id, max_uses=1)
    assert world.open_link(world.browser(), url).status_code == 303
    world.clock.advance(timedelta(seconds=1))
    second = redeem(browser_at(world, "203.0.113.7"), token_of(url))
    assert second.status_code == 410
    [refused] = refusals(world, org.id)
    assert refused["actor"] == "portal"
    assert refused["reason"] == "used_up"
    [link] = world.broker.management.portal_links.page(org.id, after=None, limit=9)
    assert refused["detail"] == {
        "link_id": link.id, "uses": 1, "max_uses": 1, "client": "203.0.113.7",
    }  # fmt: skip
    assert token_of(url) not in repr(refused)
    assert hash_secret(token_of(url)) not in repr(refused)


@pytest.mark.parametrize("reason", ["expired", "revoked"])
def test_an_expired_or_revoked_link_is_refused_with_its_reason(
    world: Gatehouse, reason: str
) -> None:
    org = world.organization()
    issued = world.broker.management.portal_links.create(ACTOR, org.id, ttl_sec=300)
    if reason == "expired":
        world.clock.advance(timedelta(seconds=300))
    else:
        world.broker.management.portal_links.revoke(ACTOR, org.id, issued.link.id)
    assert redeem(world.browser(), token_of(issued.url)).status_code == 410
    [refused] = refusals(world, org.id)
    assert (refused["reason"], refused["detail"]["link_id"]) == (reason, issued.link.id)


def test_an_unknown_token_is_logged_and_is_no_organizations_event(
    world: Gatehouse, caplog: pytest.LogCaptureFixture
) -> None:
    org = world.organization()
    spent = world.link(org.id, max_uses=1)
    assert world.open_link(world.browser(), spent).status_code == 303
    guess = secrets.token_urlsafe(32)
    with caplog.at_level(logging.INFO):
        unknown = redeem(world.browser(), guess)
        used_up = redeem(world.browser(), token_of(spent))
    assert refusals(world, org.id)[-1]["reason"] == "used_up"
    assert len(refusals(world, org.id)) == 1  # the guess is nobody's
    with world.store.unit_of_work() as uow:
        everything = uow.audit.list(limit=1000, kind="portal_link.refused")
    assert [e.organization_id for e in everything] == [org.id]
    assert "portal link refused: no link has this token" in caplog.text
    assert guess not in caplog.text
    assert token_of(spent) not in caplog.text
    # The person cannot tell a guess from a spent link.
    assert unknown.status_code == used_up.status_code == 410
    assert page_text(unknown) == page_text(used_up)


def test_the_lookup_by_hash_finds_a_link_in_any_state_and_nothing_else(
    world: Gatehouse,
) -> None:
    """The store's side of the classification: `find` reads a spent link; `use`, the way
    in, still refuses it."""
    org = world.organization()
    issued = world.broker.management.portal_links.create(ACTOR, org.id, max_uses=1)
    world.broker.management.portal_links.redeem(token_of(issued.url))
    with world.store.unit_of_work() as uow:
        found = uow.portal_links.find(hash_secret(token_of(issued.url)))
        assert (found.id, found.uses) == (issued.link.id, 1)
        with pytest.raises(NotFound):
            uow.portal_links.use(hash_secret(token_of(issued.url)), now=world.clock.now())
        with pytest.raises(NotFound):
            uow.portal_links.find(hash_secret("no-such-token"))


# -- T-07: brute force ---------------------------------------------------------------------


def test_a_hundred_guesses_from_one_address_open_nothing(world: Gatehouse) -> None:
    org = world.organization()
    url = world.link(org.id)
    guesser = browser_at(world, "198.51.100.9")
    statuses = [redeem(guesser, secrets.token_urlsafe(32)).status_code for _ in range(100)]
    assert statuses == [410] * REDEEMS_PER_MINUTE + [429] * (100 - REDEEMS_PER_MINUTE)
    assert sessions_stored(world.store) == 0
    # The guesser's own link is refused too while the minute lasts, and works after it.
    busy = redeem(guesser, token_of(url))
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "60"
    assert "Too many attempts" in busy.text
    assert "set-cookie" not in busy.headers
    world.clock.advance(timedelta(minutes=1))
    assert redeem(guesser, token_of(url)).status_code == 303
    assert sessions_stored(world.store) == 1
    # Another address was never slowed by this one.
    assert redeem(browser_at(world, "198.51.100.10"), secrets.token_urlsafe(32)).status_code == 410


def test_guesses_spread_over_many_addresses_reach_the_global_limit(world: Gatehouse) -> None:
    org = world.organization()
    url = world.link(org.id)
    addresses = REDEEMS_PER_MINUTE_ALL // REDEEMS_PER_MINUTE  # each just within its own limit
    statuses = {
        redeem(browser_at(world, f"192.0.2.{n}"), secrets.token_urlsafe(32)).status_code
        for n in range(addresses)
        for _ in range(REDEEMS_PER_MINUTE)
    }
    assert statuses == {410}
    late = browser_at(world, "192.0.2.200")
    assert redeem(late, secrets.token_urlsafe(32)).status_code == 429
    assert redeem(late, token_of(url)).status_code == 429  # a person, unlucky this minute
    assert sessions_stored(world.store) == 0
    world.clock.advance(timedelta(minutes=1))
    assert redeem(late, token_of(url)).status_code == 303


def test_one_address_over_its_own_limit_does_not_close_the_door_to_everyone(
    world: Gatehouse,
) -> None:
    org = world.organization()
    url = world.link(org.id)
    flooder = browser_at(world, "198.51.100.9")
    for _ in range(REDEEMS_PER_MINUTE_ALL + 50):
        redeem(flooder, "x")
    assert redeem(browser_at(world, "192.0.2.1"), token_of(url)).status_code == 303


def test_two_broker_instances_count_into_the_same_limits(
    world: Gatehouse, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "other").mkdir()
    other = build_gatehouse(store, tmp_path / "other")
    other.clock.advance(world.clock.now() - other.clock.now())
    one, two = browser_at(world, "198.51.100.9"), browser_at(other, "198.51.100.9")
    for n in range(REDEEMS_PER_MINUTE):
        assert redeem(one if n % 2 else two, secrets.token_urlsafe(32)).status_code == 410
    assert redeem(one, secrets.token_urlsafe(32)).status_code == 429
    assert redeem(two, secrets.token_urlsafe(32)).status_code == 429
