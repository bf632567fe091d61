"""The OpenID provider's endpoints under hostile input: `/authorize` (GET and POST),
`/token` (both grants), `/userinfo`. Requests start from a valid one and mutate it, so the
checks past the client and redirect_uri are reached too."""

from __future__ import annotations

from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.config import PUBLIC_CALLBACK, RP_CALLBACK
from tests.support.fuzz_world import CLIENT_ID, EMAIL, PUBLIC_CLIENT_ID, VERIFIER, FuzzWorld


def _maybe(valid: str, *others: str) -> st.SearchStrategy[str]:
    """Mostly the valid value (so later checks run), else a near miss or anything."""
    return st.one_of(st.just(valid), st.sampled_from(others or (valid,)), hostile.text())


AUTHORIZE = {
    "response_type": _maybe("code", "token", "code id_token", "CODE"),
    "client_id": _maybe(CLIENT_ID, PUBLIC_CLIENT_ID, "unknown", CLIENT_ID + "\x00"),
    "redirect_uri": _maybe(RP_CALLBACK, PUBLIC_CALLBACK, RP_CALLBACK + "/", "https://evil.test"),
    "scope": _maybe("openid profile email", "openid", "profile", "openid openid"),
    "state": hostile.text(),
    "nonce": hostile.text(),
    "code_challenge": _maybe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "short"),
    "code_challenge_method": _maybe("S256", "plain", "s256"),
    "login_hint": _maybe(EMAIL, "ann@other.test", "not-an-email"),
    "max_age": hostile.numeral(),
    "prompt": _maybe("login", "none", "consent select_account", "none login"),
}
AUTHORIZE_EXTRA = ("organization", "connection", "response_mode", "request", "request_uri")


@fuzz(max_examples=140)
@given(
    method=st.sampled_from(("GET", "POST")),
    params=hostile.fields(AUTHORIZE, extra_names=AUTHORIZE_EXTRA),
    headers=hostile.headers(),
    data=st.data(),
)
def test_authorize(
    world: FuzzWorld,
    watch: Watch,
    method: str,
    params: list[hostile.Field],
    headers: list[tuple[bytes, bytes]],
    data: st.DataObject,
) -> None:
    watch.clear()
    if method == "GET":
        query = hostile.encode(params, raw=data.draw(st.booleans()))
        answer = world.request("GET", "/authorize", query=query, headers=headers)
    else:
        content_type, body = data.draw(hostile.body(params))
        answer = world.request(
            "POST", "/authorize", headers=[(b"content-type", content_type), *headers], body=body
        )
    watch.check(answer, f"{method} /authorize {params!r}")


TOKEN = {
    "grant_type": _maybe("authorization_code", "client_credentials", "refresh_token"),
    "code": hostile.identifier(),
    "redirect_uri": _maybe(RP_CALLBACK, PUBLIC_CALLBACK),
    "code_verifier": hostile.text(),
    "client_id": _maybe(CLIENT_ID, PUBLIC_CLIENT_ID, "mc_x"),
    "client_secret": hostile.text(),
}
TOKEN_EXTRA = ("audience", "scope", "client_assertion", "client_assertion_type")


@fuzz(max_examples=140)
@given(
    params=hostile.fields(TOKEN, extra_names=TOKEN_EXTRA),
    authorization=st.none() | hostile.basic_credentials(),
    headers=hostile.headers(),
    data=st.data(),
)
def test_token(
    world: FuzzWorld,
    watch: Watch,
    params: list[hostile.Field],
    authorization: bytes | None,
    headers: list[tuple[bytes, bytes]],
    data: st.DataObject,
) -> None:
    watch.clear()
    if data.draw(st.booleans()):  # a real code and verifier, so the grant's checks run
        real = [("code", world.login_code()), ("code_verifier", VERIFIER)]
        params = [(k, v) for k, v in params if k not in ("code", "code_verifier")] + real
    content_type, body = data.draw(hostile.body(params))
    sent = [(b"content-type", content_type), *headers]
    if authorization is not None:
        sent.append((b"authorization", authorization))
    answer = world.request("POST", "/token", headers=sent, body=body)
    watch.check(answer, f"POST /token {params!r} {sent!r}")


@fuzz(max_examples=80)
@given(
    method=st.sampled_from(("GET", "POST")),
    token=hostile.identifier(),
    where=st.sampled_from(("header", "body", "both", "query")),
    headers=hostile.headers(),
)
def test_userinfo(
    world: FuzzWorld,
    watch: Watch,
    method: str,
    token: str,
    where: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    watch.clear()
    sent = list(headers)
    body = query = b""
    if where in ("header", "both"):
        sent.append((b"authorization", b"Bearer " + hostile.wire(token).replace(b"\r\n", b"")))
    if where in ("body", "both"):
        sent.append((b"content-type", hostile.FORM))
        body = hostile.encode([("access_token", token)])
    if where == "query":
        query = hostile.encode([("access_token", token)])
    answer = world.request(method, "/userinfo", query=query, headers=sent, body=body)
    watch.check(answer, f"{method} /userinfo {where} {token!r}")
