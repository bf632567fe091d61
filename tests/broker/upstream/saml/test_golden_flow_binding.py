"""A response is good for one flow, once (docs/security.md S-33…S-35, S-38, and S-27
end to end).

Replay and request-binding attacks reuse a genuine, correctly signed response, so nothing in the
response is wrong and no signature check can help. The defences are InResponseTo matching this
flow's AuthnRequest (S-33, S-34, including the IdP-initiated path no connection enables yet), a
replay store that lets a response through exactly once even under concurrent posts (S-35), and
a web layer that derives nothing from what the browser controls besides the SAMLResponse:
RelayState is a flow id, never a redirect (S-38), and the Host header never supplies the
expected Destination (S-27). Connector-unit cases use `GoldenSp`; those that need the real
replay store or the web layer use the `store` / `world` fixtures.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import lxml.etree
import pytest
import sqlalchemy as sa

from broker.clock import FixedClock
from broker.login.replays import StoreReplayGuard
from broker.store import Store
from broker.store.sql import SqlStore
from broker.upstream.base import UpstreamInvalid
from broker.upstream.saml import assertion_checks, validate
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.saml_golden import (
    ALICE,
    IDP_ENTITY_ID,
    NOW,
    OTHER_REQUEST_ID,
    GoldenConnection,
    encode,
)
from tests.support.saml_golden_cases import refused, respond
from tests.support.saml_world import CONNECTION_ID, ORG_ID, PostBack, SamlWorld
from tests.support.simulator import IDP_BASE

# -- S-33, S-34: request binding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign", "changes", "reason"),
    [
        pytest.param(
            "both",
            {"request_id": OTHER_REQUEST_ID},
            "in_response_to_mismatch",
            id="S-33-other-request",
        ),
        pytest.param(
            "assertion",
            {"request_id": OTHER_REQUEST_ID},
            "in_response_to_mismatch",
            id="S-33-other-request-assertion-signed",
        ),
        pytest.param("both", {"request_id": None}, "unsolicited", id="S-34-no-inresponseto"),
        pytest.param(
            "assertion",
            {"request_id": None},
            "unsolicited",
            id="S-34-no-inresponseto-assertion-signed",
        ),
    ],
)
def test_s33_s34_response_must_answer_this_flows_request(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    sign: str,
    changes: dict[str, Any],
    reason: str,
) -> None:
    """S-33 (a, b) here; (c) another browser and (d) a consumed request are end-to-end tests
    in test_login_scenarios.py (browser_mismatch, flow_expired)."""
    data = respond(golden_a, idp_keys, sign=sign, **changes)
    assert refused(golden_a, data).reason == reason


def test_s34_idp_initiated_path_refuses_a_response_that_names_a_request(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The IdP-initiated path (request_id None; not enabled for any connection) must not
    accept an answer to someone else's request."""
    settings, keys = golden_a.validation_inputs()
    expect = validate.Expectations(
        idp_entity_id=IDP_ENTITY_ID,
        idp_certificates=golden_a.config().idp_certificates,
        sp_entity_id=golden_a.entity_id,
        acs_url=golden_a.acs_url,
        request_id=None,
        now=NOW,
        skew=timedelta(seconds=120),
        allow_sha1=False,
        allow_cbc_encryption=False,
        require_assertion_signature=True,
        require_encrypted_assertion=False,
    )
    solicited = encode(respond(golden_a, idp_keys))
    auth = validate.authenticate(solicited, settings=settings, keys=keys, expect=expect)
    with pytest.raises(UpstreamInvalid) as caught:
        assertion_checks.check_assertion(auth, expect)
    assert caught.value.reason == "in_response_to_mismatch"
    unsolicited = encode(respond(golden_a, idp_keys, request_id=None))
    auth = validate.authenticate(unsolicited, settings=settings, keys=keys, expect=expect)
    assert assertion_checks.check_assertion(auth, expect).name_id == ALICE


# -- S-35: replay -----------------------------------------------------------------------------


def test_s35_the_same_response_is_accepted_once(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = encode(respond(golden_a, idp_keys))
    sp = golden_a.open()
    assert sp.login(data).subject == ALICE
    assert sp.reason(data) == "replayed"
    # Reported as a replay whichever flow it is posted into.
    assert sp.reason(data, request_id=OTHER_REQUEST_ID) == "replayed"


def test_s35_parallel_replays_succeed_exactly_once(
    golden_a: GoldenConnection, idp_keys: IdpKeys, store: Store
) -> None:
    """Ten concurrent POSTs of one response, against the real replay store."""
    guard = StoreReplayGuard(store, FixedClock(NOW))
    sp = golden_a.open(replays=guard)
    data = encode(respond(golden_a, idp_keys))

    def attempt(_: int) -> str:
        try:
            return sp.login(data).subject
        except UpstreamInvalid as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert sorted(outcomes) == [ALICE] + ["replayed"] * 9


# -- End to end: S-38 RelayState, S-27 Host header ---------------------------------------------


def _failures(world: SamlWorld) -> list[str | None]:
    with world.store.unit_of_work() as uow:
        return [e.reason for e in uow.audit.list(organization_id=ORG_ID, kind="login.failed")]


RELAY_STATES = [
    "https://evil.test/",
    "//evil.test",
    "/\\evil.test",
    "javascript:alert(1)",
    "https://gatehouse.test.evil.test/",
    "x" * 200,
]


def test_s38_relay_state_is_a_flow_id_never_a_redirect(world: SamlWorld) -> None:
    """S-38: a URL as RelayState is just an unknown flow: the expired-sign-in page, no
    Location, and the real flow is untouched (its own RelayState still completes it)."""
    _, to_idp = world.start()
    postback = world.at_idp(to_idp)
    for relay_state in RELAY_STATES:
        hijacked = PostBack(postback.acs_url, {**postback.fields, "RelayState": relay_state})
        back = world.post(hijacked)
        assert back.status_code == 400, relay_state
        assert "location" not in back.headers
        assert "This sign-in has expired" in back.text
        assert "evil" not in back.text
    # No live flow stands behind these answers: one audit event a minute for all of them
    # (broker/login/service.py `_refused`), every one logged.
    assert _failures(world) == ["flow_expired"]
    assert world.post(postback).status_code == 302


def test_s27_destination_is_never_derived_from_the_host_header(
    world: SamlWorld, idp_keys: IdpKeys
) -> None:
    """S-27: a response addressed to `https://evil.test/...` posted with `Host: evil.test`
    is still compared with the configured ACS URL."""
    _, to_idp = world.start()
    postback = world.at_idp(to_idp)
    request_id = _in_response_to(postback)
    evil_acs = postback.acs_url.replace(ISSUER, "https://evil.test")
    connection = GoldenConnection(
        stored={}, endpoints=endpoints_for("https://evil.test", CONNECTION_ID, "saml")
    )
    data = respond(
        connection,
        idp_keys,
        request_id=request_id,
        issuer=f"{IDP_BASE}/metadata",
        audience=endpoints_for(ISSUER, CONNECTION_ID, "saml").entity_id,
    )
    assert evil_acs.encode() in data
    back = world.gatehouse.client.post(
        postback.acs_path,
        data={"SAMLResponse": encode(data), "RelayState": postback.fields["RelayState"]},
        headers={"host": "evil.test"},
        follow_redirects=False,
    )
    assert back.status_code == 400, back.text
    assert _failures(world) == ["wrong_destination"]
    assert _identities(world) == 0


def _in_response_to(postback: PostBack) -> str:
    root = lxml.etree.fromstring(base64.b64decode(postback.fields["SAMLResponse"]))
    value = root.get("InResponseTo")
    assert value
    return str(value)


def _identities(world: SamlWorld) -> int:
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM identities")).scalar_one())
