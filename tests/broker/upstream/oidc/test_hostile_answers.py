"""A hostile IdP answer through the whole broker (issue 12): what the person, the audit log
and the flow see. Before, an ID token with `exp: NaN` logged the person in (NaN is never
"expired"), and one with `exp: 1e400`, a huge integer or a lone surrogate in a claim was a
500: the flow spent, no audit event, a traceback in the log. Now each is a refusal with its
reason, a page with the reference, and no code."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from joserfc.jwk import RSAKey

from broker.store import Store
from tests.support.config import RP_CALLBACK
from tests.support.fuzz_world import FuzzWorld, Handoff, build_fuzz_world
from tests.support.mock_op import b64url
from tests.support.raw_asgi import RawAnswer, raw_client

SLOT = "@@raw@@"


@pytest.fixture(scope="module")
def op_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


@pytest.fixture
def world(store: Store, tmp_path: Path, op_key: RSAKey) -> Iterator[FuzzWorld]:
    built = build_fuzz_world(store, tmp_path, op_key=op_key)
    with raw_client(built.app) as raw:
        built.raw = raw
        yield built


def with_raw_claim(world: FuzzWorld, claim: str, raw: str) -> None:
    """The OP's next ID token carries `claim` as the JSON text `raw`, validly signed."""
    private = world.op.key.raw_value
    assert isinstance(private, rsa.RSAPrivateKey)

    def sign(header: dict[str, object], claims: dict[str, object]) -> str:
        payload = json.dumps(claims).replace(f'"{SLOT}"', raw)
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(payload.encode())}"
        signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    world.op.claims_changes = {claim: SLOT}
    world.op.sign = sign


def answer(world: FuzzWorld, handoff: Handoff, *, cookie: str | None = None) -> RawAnswer:
    authorization = world.op.authorize(handoff.location)
    return world.request(
        "GET",
        f"/oidc/{world.oidc.id}/callback",
        query=urlencode(world.op.answer(authorization)).encode(),
        headers=[(b"cookie", (handoff.cookie if cookie is None else cookie).encode())],
    )


def failures(world: FuzzWorld) -> list[str]:
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=world.organization_id, kind="login.failed")
        return [str(event.reason) for event in events]


def codes(world: FuzzWorld) -> int:
    with world.store.unit_of_work() as uow:
        return len(uow.audit.list(organization_id=world.organization_id, kind="login.succeeded"))


@pytest.mark.parametrize(
    ("claim", "raw"),
    [
        ("exp", "NaN"),  # was accepted: a login
        ("exp", "1e400"),  # infinity: was accepted
        ("iat", "-Infinity"),
        ("auth_time", "1" + "0" * 400),  # was a 500: OverflowError
        ("exp", "true"),
        ("nonce", '"nonçe"'),  # was a 500: compare_digest TypeError
        ("sub", '"\\ud800"'),  # was a 500: the store could not encode it
        ("name", '"Ann\\u0000"'),
        ("groups", "[" * 3000 + "]" * 3000),  # was a 500: RecursionError
    ],
)
def test_an_id_token_the_broker_cannot_trust_is_refused_with_a_page_and_an_event(
    world: FuzzWorld, caplog: pytest.LogCaptureFixture, claim: str, raw: str
) -> None:
    with_raw_claim(world, claim, raw)
    handoff = world.handoff(world.oidc)
    with caplog.at_level(logging.WARNING):
        refused = answer(world, handoff)
    assert refused.escaped is None, refused.escaped
    assert refused.status == 400, refused.text
    assert "We could not verify your sign-in" in refused.text
    assert str(refused.header("x-request-id")) in refused.text
    assert refused.header("location") is None  # no code; the error waits behind the button
    [reason] = failures(world)
    assert reason == ("nonce_mismatch" if claim == "nonce" else "id_token_malformed")
    assert codes(world) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    # The answer was read and the refusal told to the client, which ended the flow: a
    # replay finds no flow.
    world.op.claims_changes, world.op.sign = {}, None
    replayed = answer(world, handoff)
    assert replayed.status == 400
    assert sorted(failures(world)) == sorted([reason, "flow_expired"])


def test_a_request_refused_before_its_answer_is_read_leaves_the_flow_usable(
    world: FuzzWorld,
) -> None:
    """From another browser (no binding cookie): the flow is untouched, and the person's own
    answer still finishes the login."""
    handoff = world.handoff(world.oidc)
    stranger = answer(world, handoff, cookie="")
    assert stranger.status == 400
    assert failures(world) == ["browser_mismatch"]
    finished = answer(world, handoff)
    assert finished.status == 302, finished.text
    assert str(finished.header("location")).startswith(RP_CALLBACK)


@pytest.mark.parametrize("declared", [b"\xb2", b"9" * 5000, b"-1"])  # b"\xb2" reads as "²"
def test_an_answer_the_web_layer_cannot_read_does_not_spend_the_hand_off(
    world: FuzzWorld, declared: bytes
) -> None:
    """A SAMLResponse POST with a Content-Length that is not a length is refused before the
    login service runs (it was a 500 for `²`): the hand-off keeps its AuthnRequest id, so
    the IdP's real answer can still be taken."""
    handoff = world.handoff(world.saml)
    refused = world.request(
        "POST",
        f"/saml/{world.saml.id}/acs",
        headers=[
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", declared),
            (b"cookie", handoff.cookie.encode()),
        ],
        body=urlencode({"RelayState": handoff.flow_id, "SAMLResponse": "PHg+"}).encode(),
    )
    assert refused.escaped is None, refused.escaped
    assert refused.status == 400, refused.text
    with world.store.unit_of_work() as uow:
        flow = uow.flows.get(handoff.flow_id, now=world.clock.now())
    assert flow.connector_state  # not taken
