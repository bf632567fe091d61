"""Binding a login to the browser that started it (login CSRF, RFC 9700 §4.7; S-33, S-44).

When a flow is handed to the IdP, the browser gets a random cookie and the flow keeps its
hash. The IdP's answer is accepted only from a browser that shows the cookie: an attacker who
completes a login at the IdP with their own account cannot make a victim's browser finish it.

The ACS is a cross-site POST from the IdP, which `SameSite=Lax` cookies do not survive, so
over https the cookie is `__Host-`, `Secure`, `SameSite=None` (HttpOnly, as all ours are).
Plain-http development cannot have `Secure` cookies; there the IdP simulator and the broker
share 127.0.0.1, one site, so `Lax` reaches the ACS.
"""

from __future__ import annotations

from collections.abc import Mapping

from broker.domain.opaque import hash_secret, new_secret, secret_matches
from broker.http import SetCookie

_SECURE_NAME = "__Host-gatehouse-login"
_DEV_NAME = "gatehouse-login"


class BrowserBinding:
    def __init__(self, *, secure: bool, max_age_seconds: int) -> None:
        self._secure = secure
        self._name = _SECURE_NAME if secure else _DEV_NAME
        self._max_age = max_age_seconds

    def bind(self, cookies: Mapping[str, str]) -> tuple[str, SetCookie]:
        """The hash to store on the flow and the cookie to (re)set. A browser that already
        has a binding keeps it, so two tabs logging in at once both finish."""
        value = cookies.get(self._name) or new_secret()
        cookie = SetCookie(
            name=self._name,
            value=value,
            max_age=self._max_age,
            secure=self._secure,
            same_site="none" if self._secure else "lax",
        )
        return hash_secret(value), cookie

    def matches(self, cookies: Mapping[str, str], expected_hash: str | None) -> bool:
        value = cookies.get(self._name)
        return bool(value and expected_hash and secret_matches(value, expected_hash))
