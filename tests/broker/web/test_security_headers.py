"""The security headers are added to a response's raw header list in one pass
(`broker.web.middleware.with_security_headers`): each once, whatever the app set."""

from __future__ import annotations

from broker.web.middleware import with_security_headers


def _names(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [name for name, _ in headers]


def test_fixed_headers_replace_the_apps_and_appear_once() -> None:
    app = [
        (b"content-type", b"text/html"),
        (b"referrer-policy", b"origin"),
        (b"x-frame-options", b"SAMEORIGIN"),
    ]
    headers = dict(with_security_headers(app, request_id="abc", nonce="n1", hsts=False))
    out = with_security_headers(app, request_id="abc", nonce="n1", hsts=False)
    assert sorted(_names(out)) == sorted(set(_names(out)))
    assert headers[b"referrer-policy"] == b"no-referrer"
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"x-request-id"] == b"abc"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"content-type"] == b"text/html"
    assert b"'nonce-n1'" in headers[b"content-security-policy"]
    assert b"strict-transport-security" not in headers


def test_a_policy_the_app_chose_is_kept_and_hsts_is_set_once_in_production() -> None:
    app = [
        (b"content-security-policy", b"default-src 'none'"),
        (b"strict-transport-security", b"max-age=1"),
    ]
    out = with_security_headers(app, request_id="r", nonce="n", hsts=True)
    assert [v for k, v in out if k == b"content-security-policy"] == [b"default-src 'none'"]
    assert [v for k, v in out if k == b"strict-transport-security"] == [b"max-age=31536000"]
