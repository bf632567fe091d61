"""What a person sees when something goes wrong: a page to act on, never a stack trace."""

from __future__ import annotations

import json
from typing import NoReturn

import pytest

from tests.support.harness import Harness
from tests.support.raw_asgi import raw_client


def test_security_headers_on_every_response(gatehouse: Harness) -> None:
    for path in ("/", "/.well-known/openid-configuration", "/authorize"):
        response = gatehouse.client.get(path, follow_redirects=False)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_unknown_page_is_a_friendly_404(gatehouse: Harness) -> None:
    response = gatehouse.client.get("/nope")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert response.headers["x-request-id"] in response.text


def test_error_pages_escape_what_the_request_said(gatehouse: Harness) -> None:
    response = gatehouse.authorize(
        gatehouse.new_login(login_hint="<script>alert(1)</script>@acme.test")
    )
    assert "<script>alert(1)" not in response.text


def test_oversized_body_is_refused_with_a_page(gatehouse: Harness) -> None:
    response = gatehouse.client.post(
        "/login",
        content=b"x" * (600 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "Traceback" not in response.text


@pytest.mark.parametrize("declared", ["²", "9" * 5000, "-1", "1e3", " 12", "12, 12", "١٢"])
@pytest.mark.parametrize("path", ["/token", "/login", "/authorize"])
def test_a_content_length_that_is_not_a_length_gets_a_page(
    gatehouse: Harness, path: str, declared: str
) -> None:
    """RFC 9110 §8.6: `1*DIGIT`. `²` passes `str.isdigit()` and fails `int()`; httpx writes
    its own Content-Length, so the request goes to the app directly."""
    with raw_client(gatehouse.client.app) as raw:
        answer = raw.request(
            "POST",
            path,
            headers=[
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", declared.encode()),
            ],
            body=b"grant_type=authorization_code",
        )
    assert answer.escaped is None, answer.escaped
    assert answer.status == 400, answer.text
    if path == "/token":  # a program reads it: the OAuth error shape (RFC 6749 §5.2)
        assert json.loads(answer.body)["error"] == "invalid_request"
    else:
        assert "Unreadable request" in answer.text
        assert str(answer.header("x-request-id")) in answer.text


def test_a_declared_length_past_the_cap_is_too_large(gatehouse: Harness) -> None:
    with raw_client(gatehouse.client.app) as raw:
        answer = raw.request(
            "POST",
            "/login",
            headers=[(b"content-length", str(10**12).encode())],
            body=b"flow=x",
        )
    assert answer.status == 413, answer.text


def test_a_body_that_is_not_utf8_gets_each_channels_error(gatehouse: Harness) -> None:
    """A page for a person, OAuth's JSON for the token endpoint, a problem for the API."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    page = gatehouse.client.post("/login", content=b"flow=\xff", headers=form)
    assert page.status_code == 400
    assert "Unreadable request" in page.text
    token = gatehouse.client.post("/token", content=b"grant_type=\xff", headers=form)
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    assert token.headers["cache-control"] == "no-store"
    api = gatehouse.client.post("/api/v1/organizations", content=b"name=\xff", headers=form)
    assert api.status_code == 400
    assert api.headers["content-type"] == "application/problem+json"


def test_a_crash_still_answers_with_a_reference_and_the_security_headers(
    gatehouse: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette renders an unhandled exception outside every middleware; the page still
    carries the request's reference and the headers every other answer has."""

    def crash() -> NoReturn:
        raise RuntimeError("a bug")

    broker = gatehouse.client.app.state.broker  # type: ignore[attr-defined]
    monkeypatch.setattr(broker.provider, "discovery", crash)
    response = gatehouse.client.get("/.well-known/openid-configuration")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert f"<code>{response.headers['x-request-id']}</code>" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "a bug" not in response.text
