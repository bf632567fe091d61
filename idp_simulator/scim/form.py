"""The page's "Directory (SCIM)" form: parsed into a typed run, and the tokens it was given.

The token is kept here, server side, under the base URL it was entered with, and is never
put back into a page: a later run to the same URL may leave the field empty. It is bound
to that URL on purpose: a form that could send a stored token to a URL of its choosing
would hand the token to whoever can make a browser submit it. The form also carries a
single-use key issued with the page (`PendingRequests`), so a cross-site form cannot
submit a run at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from idp_simulator.scim.client import parse_base_url
from idp_simulator.scim.scenarios import DIALECTS, SCENARIOS

__all__ = [
    "MAX_PAGE_GROUPS",
    "MAX_PAGE_USERS",
    "ScimFormError",
    "ScimRun",
    "StoredTokens",
    "parse_scim_form",
]

#: A page run happens inside one request; bigger directories are for the CLI and bench.
MAX_PAGE_USERS = 500
MAX_PAGE_GROUPS = 50
MAX_TOKEN_CHARS = 4096
DEFAULTS = {
    "url": "",
    "dialect": "okta",
    "scenario": "initial_sync",
    "users": "20",
    "groups": "4",
}


class ScimFormError(ValueError):
    """What is wrong with the form, shown above it (escaped)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimRun:
    url: str
    token: str | None
    """None: use the token stored for `url`."""
    dialect: str
    scenario: str
    users: int
    groups: int


def _number(fields: Mapping[str, str], name: str, limit: int) -> int:
    text = fields.get(name, DEFAULTS[name]).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6 or int(text) > limit:
        raise ScimFormError(f"{name} must be a whole number from 0 to {limit}")
    return int(text)


def parse_scim_form(fields: Mapping[str, str]) -> ScimRun:
    try:
        url = parse_base_url(fields.get("url", ""))
    except ValueError as exc:
        raise ScimFormError(str(exc)) from None
    dialect = fields.get("dialect", DEFAULTS["dialect"])
    if dialect not in DIALECTS:
        raise ScimFormError("dialect must be okta or entra")
    scenario = fields.get("scenario", DEFAULTS["scenario"])
    if scenario not in SCENARIOS:
        raise ScimFormError("unknown scenario")
    token = fields.get("token", "").strip()
    if len(token) > MAX_TOKEN_CHARS or not token.isascii() or not token.isprintable():
        raise ScimFormError("the token must be printable ASCII, at most 4096 characters")
    users = _number(fields, "users", MAX_PAGE_USERS)
    groups = _number(fields, "groups", MAX_PAGE_GROUPS)
    return ScimRun(
        url=url,
        token=token or None,
        dialect=dialect,
        scenario=scenario,
        users=users,
        groups=groups,
    )


class StoredTokens:
    """Tokens by base URL, in memory only, the `limit` most recently used kept."""

    def __init__(self, limit: int = 32) -> None:
        self._limit = limit
        self._tokens: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, run: ScimRun) -> str:
        """The token for this run: the one it carries (then stored), or the one stored for
        its URL. Raises ScimFormError when there is neither."""
        with self._lock:
            if run.token is not None:
                self._tokens[run.url] = run.token
            token = self._tokens.get(run.url)
            if token is None:
                raise ScimFormError("enter the bearer token (none is stored for this URL)")
            self._tokens.move_to_end(run.url)
            while len(self._tokens) > self._limit:
                self._tokens.popitem(last=False)
            return token

    def known(self, url: str) -> bool:
        with self._lock:
            return url in self._tokens
