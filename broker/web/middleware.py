"""Cross-cutting HTTP behaviour: a correlation id on every request (and, through
`broker.logs`, every log line it causes), the security headers every response carries, and
no portal link's token in an access log."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker import logs

# Templates load their CSS from /static; the only script is the auto-POST page's, allowed
# by a per-response nonce. No framing anywhere (clickjacking on the login pages).
_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
)


#: A portal link's path (`/portal/link/<token>`): the token is a bearer credential, and the
#: interstitial's GET is the one request that carries it in its URL (T-05).
_LINK_TOKEN = re.compile(r"(/portal/link/)[^\s/?#\"']+")
#: The ASGI servers' access (and error) loggers, which log each request's path.
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error", "gunicorn.access", "gunicorn.error")


def scrub(text: str) -> str:
    """`/portal/link/<token>` -> `/portal/link/…`."""
    return _LINK_TOKEN.sub("\\1…", text)


class LinkTokenScrubber(logging.Filter):
    """Replaces a portal link's token in a record's message and arguments, argument by
    argument (uvicorn's access formatter unpacks them), before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: scrub(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def scrub_link_tokens_from_access_logs() -> None:
    """Install `LinkTokenScrubber` on the ASGI servers' loggers (a logger's filter sees
    the records logged to it, whatever handlers a deployment configures). Idempotent."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, LinkTokenScrubber) for f in logger.filters):
            logger.addFilter(LinkTokenScrubber())


def ascii_query(query: bytes) -> bytes:
    """A query string with any byte above 0x7F percent-encoded, as a browser sends it (RFC
    3986 §2.1). Servers pass a raw `?\xff` through, and Starlette decodes the query as strict
    UTF-8 on first use of `request.url`, in the error handlers too: a 500 for one byte.
    Encoded, it means the same to every parser, which reads `%FF` leniently."""
    if query.isascii():
        return query
    return b"".join(b"%%%02X" % byte if byte > 0x7F else bytes((byte,)) for byte in query)


#: Set on every response, replacing any value the app set (the portal sets the same
#: Referrer-Policy): a response never carries two.
_REPLACED = frozenset(
    (b"x-request-id", b"x-content-type-options", b"referrer-policy", b"x-frame-options")
)
_HSTS = b"strict-transport-security"
_CSP_NAME = b"content-security-policy"
RawHeaders = list[tuple[bytes, bytes]]


def with_security_headers(
    headers: Iterable[tuple[bytes, bytes]], *, request_id: str, nonce: str, hsts: bool
) -> RawHeaders:
    """`headers` (ASGI's raw pairs, names lower-case) with the security headers, in one pass:
    the fixed ones replace the app's, a Content-Security-Policy the app chose is kept (an
    error page sets its own), and the default carries this response's nonce. One list, not
    Starlette's `MutableHeaders`, which scans the whole list again for every header set (a
    login's four requests spent ~4 % of their CPU there, issue 18)."""
    replaced = _REPLACED | {_HSTS} if hsts else _REPLACED
    kept = [(name, value) for name, value in headers if name not in replaced]
    kept.append((b"x-request-id", request_id.encode("latin-1")))
    kept.append((b"x-content-type-options", b"nosniff"))
    kept.append((b"referrer-policy", b"no-referrer"))
    kept.append((b"x-frame-options", b"DENY"))
    if not any(name == _CSP_NAME for name, _ in kept):
        kept.append((_CSP_NAME, _CSP.format(nonce=nonce).encode("latin-1")))
    if hsts:
        kept.append((_HSTS, b"max-age=31536000"))
    return kept


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["query_string"] = ascii_query(scope.get("query_string", b""))
        request_id = secrets.token_hex(8)
        nonce = secrets.token_urlsafe(16)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["csp_nonce"] = nonce
        token = logs.request_id.set(request_id)
        hsts = self.hsts

        def secure(headers: MutableHeaders) -> None:
            headers.raw[:] = with_security_headers(
                headers.raw, request_id=request_id, nonce=nonce, hsts=hsts
            )

        # Starlette answers an unhandled exception outside every middleware; its handler
        # (`Endpoints.server_error`) puts the same headers on that page through this.
        state["secure_headers"] = secure

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(
                    message.get("headers", ()), request_id=request_id, nonce=nonce, hsts=hsts
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            logs.request_id.reset(token)
