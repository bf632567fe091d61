"""The HTTP side of the simulated directory: one keep-alive `httpx.Client` to the target's
SCIM base URL, a bearer token, and a record of every exchange.

The record (method, path, status, latency) is what the simulator's page and the CLI show,
and what the benchmark measures; it never holds the token or a body, so it can be shown as
is. A transport failure (refused, timed out) is an exchange with status 0 and the error's
class, never an exception out of a scenario: a directory that cannot reach the app keeps
going and reports, as Okta and Entra do.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

__all__ = ["MEDIA_TYPE", "Answer", "Exchange", "ScimClient", "parse_base_url"]

MEDIA_TYPE = "application/scim+json"
#: Kept per client, oldest dropped first: a 10,000-user push must not hold every request
#: for a page that shows the last few hundred.
MAX_RECORDED = 50_000
#: RFC 3986's unreserved and reserved characters and `%`: nothing a URL must escape.
_URL_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


def parse_base_url(value: str) -> str:
    """An http(s) URL with a host, without a query or fragment, trailing slash removed:
    `{base}/Users` must be the Users endpoint (RFC 7644 §3.2)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError("the SCIM base URL is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the SCIM base URL must be http:// or https:// with a host")
    if parts.query or parts.fragment or parts.username is not None:
        raise ValueError("the SCIM base URL takes no query, fragment or user name")
    if port == 0 or any(c not in _URL_CHARACTERS for c in text):
        raise ValueError("the SCIM base URL must be plain ASCII URL characters with a usable port")
    return text.rstrip("/")


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One request and its answer, as shown on the page: no body, no token."""

    method: str
    path: str
    status: int
    """0 when no answer came (refused, timed out, reset)."""
    latency_ms: float
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    status: int
    body: Any
    """The JSON body, or None (no body, not JSON, or no answer)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def resources(self) -> list[dict[str, Any]]:
        """A ListResponse's `Resources` (RFC 7644 §3.4.2), [] for anything else."""
        if isinstance(self.body, dict):
            found = self.body.get("Resources")
            if isinstance(found, list):
                return [item for item in found if isinstance(item, dict)]
        return []

    def resource_id(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("id"), str):
            return str(self.body["id"])
        return None


class ScimClient:
    """Requests to one SCIM service provider, `concurrency` of them at most at once (the
    connection pool's size: Okta and Entra both keep several connections open).

    `give_up_after`: after that many requests in a row got no answer, the rest are recorded
    as not sent, so a page run against an address that drops packets ends in seconds
    instead of timing out request by request."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        concurrency: int = 8,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        give_up_after: int | None = None,
    ) -> None:
        self._give_up_after = give_up_after
        self._unanswered = 0
        self.base_url = parse_base_url(base_url)
        self._path_prefix = urlsplit(self.base_url).path
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": MEDIA_TYPE,
                "User-Agent": "Gatehouse-IdP-Simulator-SCIM/1",
            },
            timeout=timeout,
            limits=limits,
            transport=transport,
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self.recorded_total = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def mark(self) -> int:
        """How many exchanges so far: `since(mark)` gives the ones sent after it."""
        with self._lock:
            return self.recorded_total

    def since(self, mark: int) -> list[Exchange]:
        with self._lock:
            dropped = self.recorded_total - len(self._exchanges)
            return self._exchanges[max(0, mark - dropped) :]

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Answer:
        """One request to `{base}/{path}`; the answer, whatever it is."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": MEDIA_TYPE} if body is not None else {}
        target = path.lstrip("/")
        if params:
            # %20, not the form encoding's "+": what the vendors send, and what a server
            # that percent-decodes its query (RFC 3986, not HTML forms) reads as a space.
            target += "?" + urlencode(dict(params), quote_via=quote, safe="")
        shown = self._path_prefix + "/" + target
        started = time.perf_counter()
        if self._give_up_after is not None and self._unanswered >= self._give_up_after:
            self._record(method, shown, 0, started, "not sent: the target stopped answering")
            return Answer(status=0, body=None)
        try:
            response = self._http.request(method, target, content=content, headers=headers)
        except httpx.HTTPError as exc:
            self._unanswered += 1
            self._record(method, shown, 0, started, type(exc).__name__)
            return Answer(status=0, body=None)
        self._unanswered = 0
        self._record(method, shown, response.status_code, started)
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = None
        return Answer(status=response.status_code, body=parsed)

    def _record(self, method: str, path: str, status: int, started: float, error: str = "") -> None:
        latency = (time.perf_counter() - started) * 1000.0
        exchange = Exchange(
            method=method, path=path, status=status, latency_ms=latency, error=error
        )
        with self._lock:
            self._exchanges.append(exchange)
            self.recorded_total += 1
            if len(self._exchanges) > MAX_RECORDED:
                del self._exchanges[: len(self._exchanges) - MAX_RECORDED]
