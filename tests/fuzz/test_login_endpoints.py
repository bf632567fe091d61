"""The login pages and the two places an IdP answers, under hostile input: `/login` and
`/login/choose` with live flows or made-up ones, the SAML ACS with a flow handed off to SAML
(its RelayState and browser cookie) and a SAMLResponse of anything, and the OIDC callback
with a flow handed off to OIDC, whose IdP then answers with hostile JSON: ID token claims and
header members of any type (signed for real, so every check after the signature runs), token
responses and userinfo of any shape."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, strategies as st
from joserfc.jwk import RSAKey

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.fuzz_world import EMAIL, FuzzWorld
from tests.support.mock_op import REMOVE, b64url, changed


def _flow(world: FuzzWorld, kind: str) -> str:
    return world.new_flow() if kind == "live" else kind


@fuzz(max_examples=100)
@given(
    flow=hostile.mostly(st.just("live"), hostile.identifier()),
    email=hostile.mostly(
        st.just(EMAIL) | hostile.text().map(lambda t: f"{t}@acme.test"), hostile.text()
    ),
    params=hostile.fields({}, extra_names=("flow", "email", "connection")),
    headers=hostile.headers(),
    data=st.data(),
)
def test_login(
    world: FuzzWorld,
    watch: Watch,
    flow: str,
    email: str,
    params: list[hostile.Field],
    headers: list[tuple[bytes, bytes]],
    data: st.DataObject,
) -> None:
    watch.clear()
    fields = [("flow", _flow(world, flow)), ("email", email), *params]
    content_type, body = data.draw(hostile.body(fields))
    answer = world.request(
        "POST", "/login", headers=[(b"content-type", content_type), *headers], body=body
    )
    watch.check(answer, f"POST /login {fields!r}")


@fuzz(max_examples=80)
@given(
    flow=hostile.mostly(st.just("live"), hostile.identifier()),
    connection=hostile.mostly(st.sampled_from(("saml", "oidc", "in_setup")), hostile.identifier()),
    email=hostile.mostly(st.just(EMAIL), hostile.text()),
    headers=hostile.headers(),
    data=st.data(),
)
def test_login_choose(
    world: FuzzWorld,
    watch: Watch,
    flow: str,
    connection: str,
    email: str,
    headers: list[tuple[bytes, bytes]],
    data: st.DataObject,
) -> None:
    watch.clear()
    ours = {"saml": world.saml.id, "oidc": world.oidc.id, "in_setup": world.in_setup.id}
    fields = [
        ("flow", _flow(world, flow)),
        ("connection", ours.get(connection, connection)),
        ("email", email),
    ]
    content_type, body = data.draw(hostile.body(fields))
    answer = world.request(
        "POST", "/login/choose", headers=[(b"content-type", content_type), *headers], body=body
    )
    watch.check(answer, f"POST /login/choose {fields!r}")


#: What may stand in a SAMLResponse: base64 of anything (XML-ish or not), or not base64.
XMLISH = (
    b"<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>",
    b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    b"<a>" * 3000,
    b"\xff\xfe<\x00a\x00>\x00",
    b"",
)
saml_response = st.one_of(
    st.sampled_from(XMLISH).map(lambda b: base64.b64encode(b).decode()),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    hostile.text(),
)


@fuzz(max_examples=80)
@given(
    connection=hostile.mostly(st.just("saml"), st.just("oidc") | hostile.identifier()),
    relay_state=hostile.mostly(st.just("handed-off"), hostile.identifier()),
    with_cookie=hostile.mostly(st.just(True), st.just(False)),
    response=saml_response,
    params=hostile.fields({}, extra_names=("SAMLResponse", "RelayState", "SAMLRequest")),
    data=st.data(),
)
def test_saml_acs(
    world: FuzzWorld,
    watch: Watch,
    connection: str,
    relay_state: str,
    with_cookie: bool,
    response: str,
    params: list[hostile.Field],
    data: st.DataObject,
) -> None:
    watch.clear()
    handoff = world.handoff(world.saml)
    connection_id = {"saml": world.saml.id, "oidc": world.oidc.id}.get(connection, connection)
    state = handoff.flow_id if relay_state == "handed-off" else relay_state
    fields = [("SAMLResponse", response), ("RelayState", state), *params]
    content_type, body = data.draw(hostile.body(fields))
    headers = [(b"content-type", content_type)]
    if with_cookie:
        headers.append((b"cookie", handoff.cookie.encode()))
    path = b"/saml/" + hostile.path_segment(connection_id) + b"/acs"
    answer = world.request("POST", path, headers=headers, body=body)
    watch.check(answer, f"POST {path!r} {fields!r}")


# -- the OIDC callback, with the IdP's answers hostile ------------------------------------------

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile.text(),
    hostile.numeral(),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile.text(), inner, max_size=3),
    max_leaves=6,
)
CLAIMS = ("iss", "sub", "aud", "azp", "exp", "iat", "nbf", "auth_time", "nonce", "at_hash",
          "email", "email_verified", "name", "given_name", "family_name", "groups", "hd", "tid",
          "oid", "_claim_names", "hasgroups", "nonce_supported")  # fmt: skip
HEADER = ("alg", "kid", "typ", "crit", "jku", "x5u")
TOKEN = ("access_token", "token_type", "id_token", "expires_in", "error", "error_description")
RAW_PATHS = ("/token", "/userinfo", "/jwks.json", "/.well-known/openid-configuration")


def _changes(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(names), json_value | st.just(REMOVE), max_size=3)


def dumps(value: object) -> bytes:
    """JSON as a careless IdP writes it: NaN and Infinity included, surrogates escaped."""
    return json.dumps(value).encode()


def sign_anything(key: RSAKey) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    """An RS256 signature over a header and claims of any types (joserfc would refuse to
    write some): the checks after the signature see exactly what was drawn."""
    private = key.raw_value
    assert isinstance(private, rsa.RSAPrivateKey)

    def sign(header: dict[str, Any], claims: dict[str, Any]) -> str:
        signing_input = f"{b64url(dumps(header))}.{b64url(dumps(claims))}"
        signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    return sign


def answering(
    handle: Callable[[httpx.Request], httpx.Response],
    bodies: dict[str, Callable[[httpx.Response], bytes]],
) -> Callable[[httpx.Request], httpx.Response]:
    """The OP's answers, with the bodies of some paths replaced (the request still reaches
    the OP first: a code is spent, a token checked, as a real OP would)."""

    def answer(request: httpx.Request) -> httpx.Response:
        original = handle(request)
        body = bodies.get(request.url.path)
        if body is None:
            return original
        return httpx.Response(200, content=body(original))

    return answer


@fuzz(max_examples=120)
@given(
    claims=hostile.mostly(_changes(CLAIMS), st.just({})),
    header=_changes(HEADER) | st.just({}),
    token=_changes(TOKEN) | st.just({}),
    userinfo=st.none() | st.dictionaries(st.sampled_from(CLAIMS), json_value, max_size=4),
    raw=st.none()
    | st.tuples(st.sampled_from(RAW_PATHS), st.binary(max_size=200) | json_value.map(dumps)),
    answer=hostile.fields({}, extra_names=("code", "state", "iss", "error", "error_description")),
    keep_state=hostile.mostly(st.just(True), st.just(False)),
    with_cookie=hostile.mostly(st.just(True), st.just(False)),
)
def test_oidc_callback(
    world: FuzzWorld,
    watch: Watch,
    claims: dict[str, Any],
    header: dict[str, Any],
    token: dict[str, Any],
    userinfo: dict[str, Any] | None,
    raw: tuple[str, bytes] | None,
    answer: list[hostile.Field],
    keep_state: bool,
    with_cookie: bool,
) -> None:
    watch.clear()
    op = world.op
    op.claims_changes, op.header_changes = claims, header
    op.sign = sign_anything(op.key)
    bodies: dict[str, Callable[[httpx.Response], bytes]] = {}
    if token:
        bodies["/token"] = lambda original: dumps(_changed_if_object(original.json(), token))
    if userinfo is not None:
        bodies["/userinfo"] = lambda _: dumps(userinfo)
    if raw is not None:
        bodies[raw[0]] = lambda _: raw[1]
    handle = op.handle
    op.handle = answering(handle, bodies)  # type: ignore[method-assign,assignment]
    try:
        handoff = world.handoff(world.oidc)
        authorization = op.authorize(handoff.location)
        query = urlencode(op.answer(authorization) if keep_state else {}).encode()
        if answer:
            query += (b"&" if query else b"") + hostile.encode(answer)
        headers = [(b"cookie", handoff.cookie.encode())] if with_cookie else []
        path = f"/oidc/{world.oidc.id}/callback"
        reply = world.request("GET", path, query=query, headers=headers)
    finally:
        op.handle = handle  # type: ignore[method-assign]
        op.claims_changes, op.header_changes, op.sign = {}, {}, None
    watch.check(
        reply,
        f"OIDC callback {claims=} {header=} {token=} {userinfo=} {raw=} {answer=}",
        hostile_idp=True,
    )


def _changed_if_object(document: Any, changes: dict[str, Any]) -> Any:
    return changed(document, changes) if isinstance(document, dict) else document
