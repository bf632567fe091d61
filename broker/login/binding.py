"""Binding a login to the browser that started it (login CSRF, RFC 9700 §4.7; S-33, S-44).

When a flow is handed to the IdP, the browser gets a random cookie and the flow keeps its
hash. The IdP's answer is accepted only from a browser that shows the cookie: an attacker who
completes a login at the IdP with their own account cannot make a victim's browser finish it.

The ACS is a cross-site POST from the IdP, which `SameSite=Lax` cookies do not survive, so
over https the cookie is `__Host-`, `Secure`, `SameSite=None` (HttpOnly, as all ours are).
Plain-http development cannot have `Secure` cookies; there the IdP simulator and the broker
share 127.0.0.1, one site, so `Lax` reaches the ACS.

The flow is bound from `/authorize` on, so the email page and the chooser belong to that
browser too: their forms carry a token derived from the cookie (`form_token`), which a page
on another site cannot read, and a POST from another browser or site is refused (login
CSRF, RFC 9700 §4.7, docs/security.md P-19).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping

from broker.http import HttpRequest, SetCookie, foreign_origin
from broker.model.opaque import hash_secret, new_secret, secret_matches

_SECURE_NAME = "__Host-gatehouse-login"
_DEV_NAME = "gatehouse-login"
#: What `new_secret` makes; any other cookie value is ignored (and replaced).
_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


class BrowserBinding:
    def __init__(self, *, secure: bool, max_age_seconds: int) -> None:
        self._secure = secure
        self._name = _SECURE_NAME if secure else _DEV_NAME
        self._max_age = max_age_seconds

    def bind(self, cookies: Mapping[str, str]) -> tuple[str, SetCookie]:
        """The hash to store on the flow and the cookie to (re)set. A browser that already
        has a binding keeps it, so two tabs logging in at once both finish."""
        value = self._value(cookies) or new_secret()
        cookie = SetCookie(
            name=self._name,
            value=value,
            max_age=self._max_age,
            secure=self._secure,
            same_site="none" if self._secure else "lax",
        )
        return hash_secret(value), cookie

    def matches(self, cookies: Mapping[str, str], expected_hash: str | None) -> bool:
        value = self._value(cookies)
        return bool(value and expected_hash and secret_matches(value, expected_hash))

    def form_token(self, cookie_value: str, flow_id: str) -> str:
        """The token a login form of this flow carries: keyed by the browser's cookie."""
        mac = hmac.new(cookie_value.encode(), f"login-form:{flow_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def form_token_for(self, cookies: Mapping[str, str], flow_id: str) -> str | None:
        value = self._value(cookies)
        return self.form_token(value, flow_id) if value else None

    def form_problem(
        self, request: HttpRequest, flow_id: str, expected_hash: str | None, *, origin: str
    ) -> str | None:
        """Why a login form's POST did not come from this flow's browser on this site, or
        None: the browser's own `Origin` / `Sec-Fetch-Site` say where it was sent from; its
        cookie must be the flow's, and the form must carry the token that cookie gives."""
        problem = foreign_origin(request.headers, origin)
        if problem is not None:
            return problem
        expected = self.form_token_for(request.cookies, flow_id)
        token = (request.form.get("form_token") or [""])[0]
        if not (
            self.matches(request.cookies, expected_hash)
            and expected is not None
            and hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
        ):
            return "form token or binding cookie missing or wrong"
        return None

    def _value(self, cookies: Mapping[str, str]) -> str | None:
        value = cookies.get(self._name)
        return value if value is not None and _VALUE.fullmatch(value) else None
