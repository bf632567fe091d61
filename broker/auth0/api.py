"""Auth0's Management API, through auth0-python: the only module that imports it.

The SDK's management client builds `https://DOMAIN/api/v2` itself and fetches its token
from `https://DOMAIN/oauth/token`; both are built here from one origin instead, so the same
code runs against the tenant and against a stand-in on loopback. Its token comes from
auth0-python's own client-credentials call (`GetToken`), with the audience Auth0 gives the
Management API of the tenant, `https://DOMAIN/api/v2/`.

Every refusal (a 4xx or 5xx, a rate limit after the SDK's own retries, a network failure)
becomes `Auth0Refused`, whose text is Auth0's own message and never a credential.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pydantic
import requests
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management.client import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError
from auth0.management.types import (
    ConnectionPropertiesOptions,
    UpdateConnectionOptions,
    UpdateEnabledClientConnectionsRequestContentItem,
)

#: Auth0 takes at most this many applications per `PATCH /connections/{id}/clients`.
ENABLE_BATCH = 50

#: A tenant's domain (`acme.us.auth0.com`, or a custom domain), optionally with a port.
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")


class Auth0Refused(Exception):
    """Auth0 said no, or could not be reached. `status` is the HTTP status (None when no
    answer came); `retry_at` the Unix time a rate limit lifts, when Auth0 said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        retry_at: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.retry_at = retry_at


@dataclass(frozen=True, slots=True)
class M2MApplication:
    """The app team's machine-to-machine application, authorized for the Management API."""

    domain: str
    client_id: str
    client_secret: str = field(repr=False)
    #: Where the API answers; `https://DOMAIN` unless told (a stand-in on loopback).
    origin: str | None = None

    def __post_init__(self) -> None:
        if not is_domain(self.domain):
            raise ValueError(f"{self.domain!r} is not an Auth0 domain (acme.us.auth0.com)")
        if self.origin is not None:
            check_origin(self.origin)

    @property
    def api_origin(self) -> str:
        return (self.origin or f"https://{self.domain}").rstrip("/")

    @property
    def audience(self) -> str:
        """The Management API's identifier: always the tenant's own domain."""
        return f"https://{self.domain}/api/v2/"


def is_domain(name: str) -> bool:
    """A tenant's domain or a custom domain: letters, digits, dots and hyphens, a port at
    most; it is put into URLs as it is."""
    return _DOMAIN.fullmatch(name) is not None


def check_origin(origin: str) -> None:
    """https, or http to a loopback address only: the M2M secret goes there."""
    parts = urlsplit(origin)
    if parts.path.strip("/") or parts.query or parts.fragment or not parts.hostname:
        raise ValueError(f"{origin!r} must be an origin: scheme, host and port only")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return
    raise ValueError(f"{origin!r} must use https (http only on a loopback address)")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True, slots=True)
class RemoteConnection:
    """A connection as the Management API returned it. `options` is None when the token
    lacks `read:connections_options` (Auth0 then leaves them out)."""

    id: str
    name: str
    strategy: str
    options: dict[str, Any] | None
    metadata: dict[str, str | None]
    display_name: str | None = None


class ManagementApi:
    """The few Management API calls connecting Gatehouse needs. `retries` is how often the
    SDK retries a 429 (honouring Auth0's `x-ratelimit-reset`), a 409 or a 5xx."""

    def __init__(self, app: M2MApplication, *, retries: int = 2, timeout: float = 30.0) -> None:
        self._app = app
        self._token: str | None = None
        self._timeout = timeout
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._api = Auth0(
            base_url=f"{app.api_origin}/api/v2",
            token=self._access_token,
            httpx_client=self._http,
            max_retries=retries,
        )

    def close(self) -> None:
        self._http.close()

    def find_connection(self, name: str) -> RemoteConnection | None:
        """The OpenID Connect connection of that name (`GET /connections?name=&strategy=`)."""
        with _refusals():
            found = [
                c
                for c in self._api.connections.list(name=name, strategy="oidc")
                if c.name == name and c.id
            ]
        return self.get_connection(found[0].id or "") if found else None

    def get_connection(self, connection_id: str) -> RemoteConnection:
        with _refusals():
            got = self._api.connections.get(connection_id)
        return _remote(got.id, got.name, got.strategy, got.options, got.metadata, got.display_name)

    def create_connection(
        self, *, name: str, options: Mapping[str, Any], metadata: Mapping[str, str | None]
    ) -> RemoteConnection:
        with _refusals():
            made = self._api.connections.create(
                name=name,
                strategy="oidc",
                display_name=name,
                options=_typed(ConnectionPropertiesOptions, options),
                metadata=dict(metadata),
            )
        return _remote(
            made.id, made.name, made.strategy, made.options, made.metadata, made.display_name
        )

    def update_connection(
        self,
        connection: RemoteConnection,
        *,
        options: Mapping[str, Any],
        metadata: Mapping[str, str | None],
    ) -> None:
        """PATCH replaces `options` and `metadata` whole: pass them complete. The display
        name is sent back as it was, since Auth0 resets a PATCH without one to the name."""
        with _refusals():
            self._api.connections.update(
                connection.id,
                display_name=connection.display_name or connection.name,
                options=_typed(UpdateConnectionOptions, options),
                metadata=dict(metadata),
            )

    def enable_for(self, connection_id: str, client_ids: Sequence[str]) -> None:
        """`PATCH /connections/{id}/clients`, Auth0's current way (the connection's
        `enabled_clients` is deprecated). Only enables: other applications stay as they are."""
        for start in range(0, len(client_ids), ENABLE_BATCH):
            items = [
                UpdateEnabledClientConnectionsRequestContentItem(client_id=c, status=True)
                for c in client_ids[start : start + ENABLE_BATCH]
            ]
            with _refusals():
                self._api.connections.clients.update(connection_id, request=items)

    def _access_token(self) -> str:
        """Called by the SDK before each request; fetched once per command."""
        if self._token is None:
            app = self._app
            scheme, _, host = app.api_origin.partition("://")
            with _refusals():
                answer = GetToken(
                    host, app.client_id, client_secret=app.client_secret, protocol=scheme,
                    timeout=self._timeout,
                ).client_credentials(audience=app.audience)  # fmt: skip
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise Auth0Refused("Auth0's /oauth/token answered without an access token")
            self._token = token
        return self._token


M = TypeVar("M", bound=pydantic.BaseModel)


def _typed(model: type[M], options: Mapping[str, Any]) -> M:
    """The SDK's model of the options. Options read back from Auth0 that its own model
    refuses (edited into a shape the API does not define) are refused by field name only:
    a value may be a secret."""
    try:
        return model(**options)
    except pydantic.ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"]))[:80] for e in exc.errors()})
        raise Auth0Refused(
            "the connection's options do not have the shape Auth0's API defines "
            f"({', '.join(fields[:5])}): correct them in the dashboard"
        ) from None


def _remote(
    connection_id: str | None,
    name: str | None,
    strategy: str | None,
    options: Any,
    metadata: Mapping[str, str | None] | None,
    display_name: str | None,
) -> RemoteConnection:
    if not connection_id or not name:
        raise Auth0Refused("Auth0 answered with a connection without an id or a name")
    return RemoteConnection(
        id=connection_id,
        name=name,
        strategy=strategy or "",
        options=dict(options) if isinstance(options, Mapping) else None,
        metadata=dict(metadata or {}),
        display_name=display_name,
    )


@contextmanager
def _refusals() -> Iterator[None]:
    """The SDKs' errors (the management client's `ApiError`, the authentication client's
    `Auth0Error`, either's transport failure) as one `Auth0Refused`."""
    try:
        yield
    except ApiError as exc:
        raise _from_api_error(exc) from None
    except ParsingError as exc:
        raise Auth0Refused(
            f"Auth0 answered {exc.status_code} with a body not shaped as its API defines",
            status=exc.status_code,
        ) from None
    except RateLimitError as exc:
        raise Auth0Refused(
            f"rate limited at /oauth/token: {exc.message}",
            status=429,
            error_code=exc.error_code,
            retry_at=reset_time(str(exc.reset_at)),
        ) from None
    except Auth0Error as exc:
        raise Auth0Refused(
            f"{exc.status_code} at /oauth/token: {exc.message or exc.error_code}",
            status=exc.status_code,
            error_code=exc.error_code,
        ) from None
    except (httpx.HTTPError, requests.RequestException) as exc:
        raise Auth0Refused(f"Auth0 could not be reached: {type(exc).__name__}") from None


def _from_api_error(exc: ApiError) -> Auth0Refused:
    """Auth0's error body: `{"statusCode", "error", "message", "errorCode"}`."""
    body = exc.body if isinstance(exc.body, Mapping) else {}
    message = body.get("message") or body.get("error") or "no message"
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    reset = headers.get("x-ratelimit-reset", "")
    return Auth0Refused(
        f"{exc.status_code} {body.get('error') or ''}: {message}".replace(" :", ":"),
        status=exc.status_code,
        error_code=body.get("errorCode") if isinstance(body.get("errorCode"), str) else None,
        retry_at=reset_time(reset),
    )


def reset_time(header: str) -> int | None:
    """`x-ratelimit-reset`, a Unix time in seconds, when it is one (ASCII digits, before
    the year 5138); anything else is no time at all."""
    if header.isascii() and header.isdigit() and len(header) <= 11:
        return int(header) or None
    return None
