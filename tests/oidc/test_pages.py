"""What a person sees when something goes wrong: a page to act on, never a stack trace."""

from __future__ import annotations

from tests.support.harness import Harness


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
