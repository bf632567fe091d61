"""The authenticated session: client-credentials tokens fetched and refreshed, JSON in and
out, problems turned into exceptions, cursors and `Link: rel=next` followed."""

from __future__ import annotations

import json as json_module
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from broker.sdk.errors import Unauthorized, error_for

#: Refresh this long before the token expires, so a request never races its expiry.
REFRESH_MARGIN_SECONDS = 30.0


class Transport:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: tuple[str, ...] = (),
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = scopes
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=30.0, follow_redirects=False)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    @property
    def api(self) -> str:
        return f"{self._issuer}/api/v1"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def token(self) -> str:
        if self._token is None or self._clock() >= self._expires - REFRESH_MARGIN_SECONDS:
            self._fetch_token()
        assert self._token is not None
        return self._token

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """The decoded JSON answer (None for 204). A POST gets an Idempotency-Key (random if
        not given), so `retry` of a timed-out create never creates twice."""
        headers: dict[str, str] = {}
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        return _decoded(self._send(method, path, json=json, params=params, headers=headers))

    def lines(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Every record of an NDJSON export, page after page, following `Link: rel=next`."""
        query: Mapping[str, Any] | None = params
        while query is not None:
            response = self._send("GET", path, params=query, headers={})
            if response.status_code >= 400:
                raise error_for(response.status_code, _json_or_empty(response))
            for line in response.text.splitlines():
                yield json_module.loads(line)
            following = response.links.get("next", {}).get("url")
            query = dict(parse_qsl(urlsplit(following).query)) if following else None

    def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {self.token()}"
            response = self._http.request(
                method, self.api + path, json=json, params=query, headers=headers
            )
            if response.status_code == 401 and attempt == 0:
                self._token = None  # revoked or expired early: one fresh token, one retry
                continue
            return response
        raise AssertionError("unreachable")

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list, page after page, following `next_cursor`."""
        query = dict(params or {})
        while True:
            page = self.request("GET", path, params=query)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]

    def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials", "audience": self.api}
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        # RFC 6749 §2.3.1: both halves form-encoded before they go into Basic.
        credentials = (quote(self._client_id, safe=""), quote(self._client_secret, safe=""))
        response = self._http.post(f"{self._issuer}/token", data=form, auth=credentials)
        if response.status_code != 200:
            body = _json_or_empty(response)
            problem = {
                "title": body.get("error", "token refused"),
                "detail": body.get("error_description", f"status {response.status_code}"),
            }
            raise Unauthorized(response.status_code, problem)
        body = response.json()
        self._token = str(body["access_token"])
        self._expires = self._clock() + float(body.get("expires_in", 60))


def _decoded(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise error_for(response.status_code, _json_or_empty(response))
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"title": response.reason_phrase, "detail": response.text[:200]}
    return body if isinstance(body, dict) else {}
