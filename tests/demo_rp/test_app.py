"""The clickable demo RP: pages render, the flow completes, and failures never show a trace.

The app is driven through `httpx.ASGITransport` rather than `starlette.testclient.TestClient`:
Starlette 1.10's TestClient warns (StarletteDeprecationWarning) when used with `httpx` instead of
`httpx2`, and the project pins `httpx` and turns warnings into errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import urlencode

import anyio
import httpx
import pytest
from starlette.types import ASGIApp

from demo_rp.app import COOKIE_NAME, PendingLogins, create_app
from demo_rp.oidc_client import LoginState, RelyingParty
from tests.demo_rp.fake_op import (
    CLIENT_ID,
    CLIENT_SECRET,
    EMAIL,
    ISSUER,
    REDIRECT_URI,
    SUB,
    FakeOP,
)


class AppClient:
    """A synchronous browser stand-in for an ASGI app: keeps cookies, never follows redirects."""

    def __init__(self, app: ASGIApp, *, raise_app_exceptions: bool = True) -> None:
        self._transport = httpx.ASGITransport(app, raise_app_exceptions=raise_app_exceptions)
        self.cookies = httpx.Cookies()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self._transport, base_url="http://testserver", cookies=self.cookies
            ) as client:
                response = await client.get(path, params=params)
                self.cookies = client.cookies
                return response

        return anyio.run(send)


@pytest.fixture
def op() -> FakeOP:
    return FakeOP()


@pytest.fixture
def client(op: FakeOP) -> Iterator[AppClient]:
    with httpx.Client(transport=op.transport()) as http:
        rp = RelyingParty(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http)
        yield AppClient(create_app(rp, session_secret="test-session-secret"))


def start(client: AppClient, op: FakeOP, login_hint: str = "") -> dict[str, str]:
    response = client.get("/login", params={"login_hint": login_hint})
    assert response.status_code == 302
    return op.authorize(response.headers["location"])


def assert_error_page(response: httpx.Response, status: int, reason: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "Login failed" in response.text
    assert f"<code>{reason}</code>" in response.text
    assert "Traceback" not in response.text


class TestHomePage:
    def test_has_the_login_button_and_an_optional_email(self, client: AppClient) -> None:
        response = client.get("/")

        assert response.status_code == 200
        assert "Log in with SSO" in response.text
        assert 'name="login_hint"' in response.text
        assert 'action="/login"' in response.text
        assert ISSUER in response.text

    def test_sends_protective_headers(self, client: AppClient) -> None:
        response = client.get("/")

        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]


class TestLogin:
    def test_redirects_to_the_provider_with_a_protected_cookie(
        self, client: AppClient, op: FakeOP
    ) -> None:
        response = client.get("/login", params={"login_hint": EMAIL})

        assert response.status_code == 302
        assert response.headers["location"].startswith(f"{ISSUER}/authorize?")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=")
        assert "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
        op.authorize(response.headers["location"])
        assert op.authorize_params[0]["login_hint"] == EMAIL

    def test_blank_email_sends_no_login_hint(self, client: AppClient, op: FakeOP) -> None:
        start(client, op, login_hint="  ")

        assert "login_hint" not in op.authorize_params[0]

    def test_discovery_failure_is_an_error_page(self, client: AppClient, op: FakeOP) -> None:
        op.metadata["issuer"] = "https://evil.example"

        assert_error_page(client.get("/login"), 502, "discovery_issuer_mismatch")


class TestCallback:
    def test_shows_the_verified_claims(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)

        response = client.get("/callback", params=params)

        assert response.status_code == 200
        assert "Signed in" in response.text
        assert f"<th>sub</th><td><code>{SUB}</code></td>" in response.text
        assert EMAIL in response.text
        assert "&#34;id_token_claims&#34;" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"

    def test_a_callback_cannot_be_replayed(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)
        client.get("/callback", params=params)

        assert_error_page(client.get("/callback", params=params), 400, "no_pending_login")

    def test_without_a_pending_login(self, client: AppClient) -> None:
        response = client.get("/callback", params={"code": "c", "state": "s", "iss": ISSUER})

        assert_error_page(response, 400, "no_pending_login")

    def test_a_forged_cookie_is_ignored(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)
        client.cookies.set(COOKIE_NAME, "guessed.0000")

        assert_error_page(client.get("/callback", params=params), 400, "no_pending_login")

    def test_state_mismatch(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)

        response = client.get("/callback", params={**params, "state": "forged"})

        assert_error_page(response, 400, "state_mismatch")

    def test_duplicate_parameters_are_refused(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)
        query = [*params.items(), ("code", "second-code")]

        response = client.get(f"/callback?{urlencode(query)}")

        assert_error_page(response, 400, "duplicate_parameter")

    def test_provider_error_text_is_escaped(self, client: AppClient, op: FakeOP) -> None:
        params = start(client, op)
        del params["code"]
        params |= {"error": "access_denied", "error_description": "<script>alert(1)</script>"}

        response = client.get("/callback", params=params)

        assert response.status_code == 400
        assert "Sign-in refused" in response.text
        assert "<code>access_denied</code>" in response.text
        assert "<script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text

    def test_an_error_shows_what_was_received_after_state_and_iss_were_checked(
        self, client: AppClient, op: FakeOP
    ) -> None:
        params = start(client, op)
        del params["code"]
        params |= {"error": "login_required", "error_description": "expired (reference 0a1b)"}

        response = client.get("/callback", params=params)

        assert "Sign-in refused" in response.text
        assert "<code>login_required</code>" in response.text
        assert "<code>expired (reference 0a1b)</code>" in response.text
        assert f"<code>{ISSUER}</code> (the expected issuer" in response.text

    def test_an_error_with_a_forged_state_is_not_believed(
        self, client: AppClient, op: FakeOP
    ) -> None:
        params = start(client, op)
        del params["code"]
        params |= {"error": "access_denied", "state": "forged"}

        response = client.get("/callback", params=params)

        assert_error_page(response, 400, "state_mismatch")
        assert "access_denied" not in response.text

    def test_an_unexpected_exception_shows_no_trace(self) -> None:
        def explode(request: httpx.Request) -> httpx.Response:
            raise RuntimeError("secret internals")

        with httpx.Client(transport=httpx.MockTransport(explode)) as http:
            rp = RelyingParty(ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, http)
            app = create_app(rp, session_secret="test-session-secret")
            response = AppClient(app, raise_app_exceptions=False).get("/login")

        assert_error_page(response, 500, "internal_error")
        assert "secret internals" not in response.text


class TestPendingLogins:
    def test_entries_expire(self) -> None:
        now = [1000.0]
        pending = PendingLogins("secret", ttl=60, clock=lambda: now[0])
        cookie = pending.put(LoginState("s", "n", "v"))
        now[0] += 61

        assert pending.pop(cookie) is None

    def test_oldest_entries_are_evicted_at_the_limit(self) -> None:
        pending = PendingLogins("secret", limit=2)
        first = pending.put(LoginState("s1", "n", "v"))
        second = pending.put(LoginState("s2", "n", "v"))
        third = pending.put(LoginState("s3", "n", "v"))

        assert pending.pop(first) is None
        assert pending.pop(second) == LoginState("s2", "n", "v")
        assert pending.pop(third) == LoginState("s3", "n", "v")

    def test_a_cookie_from_another_secret_is_refused(self) -> None:
        cookie = PendingLogins("one-secret").put(LoginState("s", "n", "v"))

        assert PendingLogins("another-secret").pop(cookie) is None
