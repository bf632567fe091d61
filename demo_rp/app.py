"""The clickable demo relying party: a login button, the callback, and the verified claims.

Endpoints are synchronous on purpose: `RelyingParty` does blocking HTTP, and Starlette runs
sync endpoints in its thread pool instead of stalling the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from demo_rp.errors import AuthorizationError
from demo_rp.oidc_client import DiscoveryFailed, LoginFailed, LoginState, RelyingParty

__all__ = ["COOKIE_NAME", "PendingLogins", "create_app"]

COOKIE_NAME = "demo_rp_login"
PENDING_TTL_SECONDS = 600
MAX_PENDING = 1000
_TIMESTAMP_CLAIMS = frozenset({"exp", "iat", "nbf", "auth_time", "updated_at"})

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
"""Sent on every page. `no-referrer` matters on /callback: its URL holds the code and state."""


class PendingLogins:
    """`LoginState`s waiting for their callback, keyed by an unguessable cookie value.

    Entries are single-use (`pop`), expire after `ttl` seconds and are capped at `limit`, oldest
    evicted first, so anonymous hits on /login cannot grow memory without bound. The cookie
    carries `id.mac` with an HMAC under the session secret: a value this process did not mint
    is refused before the store is consulted.
    """

    def __init__(
        self,
        secret: str,
        *,
        ttl: float = PENDING_TTL_SECONDS,
        limit: int = MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key = secret.encode("utf-8")
        self._ttl = ttl
        self._limit = limit
        self._clock = clock
        self._entries: OrderedDict[str, tuple[LoginState, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, saved: LoginState) -> str:
        """Store `saved`; returns the cookie value that gets it back."""
        login_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._purge(now)
            while len(self._entries) >= self._limit:
                self._entries.popitem(last=False)
            self._entries[login_id] = (saved, now)
        return f"{login_id}.{self._mac(login_id)}"

    def pop(self, cookie_value: str | None) -> LoginState | None:
        """The state for `cookie_value`, removed so a callback cannot be replayed."""
        if not cookie_value or "." not in cookie_value:
            return None
        login_id, mac = cookie_value.rsplit(".", 1)
        if not hmac.compare_digest(mac.encode("utf-8"), self._mac(login_id).encode("utf-8")):
            return None
        with self._lock:
            self._purge(self._clock())
            entry = self._entries.pop(login_id, None)
        return None if entry is None else entry[0]

    def _mac(self, login_id: str) -> str:
        return hmac.new(self._key, login_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def _purge(self, now: float) -> None:
        while self._entries:
            _, (_, created) = next(iter(self._entries.items()))
            if now - created < self._ttl:
                break
            self._entries.popitem(last=False)


def create_app(rp: RelyingParty, *, session_secret: str) -> Starlette:
    """The demo RP as an ASGI app: `GET /`, `GET /login`, `GET /callback`."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    templates = Jinja2Templates(env=env)
    pending = PendingLogins(session_secret)
    secure_cookie = rp.redirect_uri.startswith("https://")

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return templates.TemplateResponse(
            request, name, context, status_code=status, headers=_SECURITY_HEADERS
        )

    def failure(request: Request, exc: LoginFailed, status: int | None = None) -> Response:
        if status is None:
            status = 502 if isinstance(exc, DiscoveryFailed) else 400
        if isinstance(exc, AuthorizationError):
            # Checked before it was believed: `state` is this browser's, `iss` the issuer's.
            context = {
                "error": exc.error,
                "error_description": exc.error_description or "",
                "issuer": rp.issuer,
            }
            return page(request, "refused.html", context, status)
        return page(request, "error.html", {"reason": exc.reason, "detail": exc.detail}, status)

    def home(request: Request) -> Response:
        return page(request, "home.html", {"issuer": rp.issuer})

    def login(request: Request) -> Response:
        login_hint = request.query_params.get("login_hint", "").strip() or None
        try:
            url, saved = rp.start_login(login_hint=login_hint)
        except LoginFailed as exc:
            return failure(request, exc)
        response = RedirectResponse(url, status_code=302, headers=_SECURITY_HEADERS)
        response.set_cookie(
            COOKIE_NAME,
            pending.put(saved),
            max_age=PENDING_TTL_SECONDS,
            httponly=True,
            samesite="lax",
            secure=secure_cookie,
        )
        return response

    def callback(request: Request) -> Response:
        response = _finish(request)
        response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax", secure=secure_cookie)
        return response

    def _finish(request: Request) -> Response:
        saved = pending.pop(request.cookies.get(COOKIE_NAME))
        if saved is None:
            return failure(
                request, LoginFailed("no_pending_login", "start again from the home page")
            )
        items = request.query_params.multi_items()
        params = dict(items)
        if len(params) != len(items):
            return failure(request, LoginFailed("duplicate_parameter"))
        try:
            verified = rp.finish_login(params, saved)
        except LoginFailed as exc:
            return failure(request, exc)
        context = {
            "id_token_rows": _rows(verified.id_token_claims),
            "userinfo_rows": _rows(verified.userinfo),
            "raw_json": json.dumps(
                {"id_token_claims": verified.id_token_claims, "userinfo": verified.userinfo},
                indent=2,
                sort_keys=True,
            ),
            "id_token": verified.id_token,
        }
        return page(request, "result.html", context)

    def internal_error(request: Request, _exc: Exception) -> Response:
        return failure(request, LoginFailed("internal_error"), 500)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/login", login, methods=["GET"]),
            Route("/callback", callback, methods=["GET"]),
        ],
        exception_handlers={Exception: internal_error},
    )


def _rows(claims: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Claims as display rows; NumericDate claims also shown in UTC for the human reading."""
    rows = []
    for name in sorted(claims):
        value = claims[name]
        text = value if isinstance(value, str) else json.dumps(value)
        if name in _TIMESTAMP_CLAIMS and isinstance(value, int) and not isinstance(value, bool):
            text = f"{value} ({_utc(value)})"
        rows.append((name, text))
    return rows


def _utc(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return "out of range"
