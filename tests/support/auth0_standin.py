"""A stand-in for the parts of Auth0's Management API that `gatehouse auth0` uses, served
on 127.0.0.1, so the real auth0-python client is tested against something that answers as
Auth0 documents, not against a mock of the SDK.

It checks every request the way Auth0 does: a token from `/oauth/token` (client credentials
of the M2M application, audience `https://DOMAIN/api/v2/`), JSON bodies whose fields are the
ones Auth0's API definition lists for the endpoint and the `oidc` strategy (anything else is
a 400 "Payload validation error"), enumerated values, Auth0's limits on names and metadata.
It answers with Auth0's error shape (`statusCode`, `error`, `message`, `errorCode`) and can
be told to answer a rate limit (429 with `x-ratelimit-*` headers) or a conflict (409).

One assumption, from Auth0's documentation of `read:connections_options`: GET returns the
options whole, `client_secret` included. PATCH replaces `options` and `metadata` whole, as
Auth0's does, so a client that forgets to send an option back loses it here too.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from broker.store.sql import SqlStore
from tests.support.databases import Database
from tests.support.factories import add_organization
from tests.support.live_server import free_port, serve

DOMAIN = "gatehouse-test.eu.auth0.com"

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?")
_DOMAIN_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?", re.IGNORECASE)

#: POST /api/v2/connections (CreateConnectionRequestContent).
CREATE_FIELDS = frozenset({
    "name", "display_name", "strategy", "options", "enabled_clients", "is_domain_connection",
    "show_as_button", "realms", "metadata", "authentication", "connected_accounts",
    "cross_app_access_requesting_app", "cross_app_access_resource_app",
})  # fmt: skip
#: PATCH /api/v2/connections/{id}: the name and the strategy cannot change.
UPDATE_FIELDS = CREATE_FIELDS - {"name", "strategy"}
#: ConnectionOptionsOidc (with ConnectionOptionsCommonOidc and ConnectionOptionsCommon).
OIDC_OPTIONS = frozenset({
    "attribute_map", "authorization_endpoint", "client_id", "client_secret",
    "connection_settings", "discovery_url", "domain_aliases", "dpop_signing_alg",
    "enable_pushed_authorization_requests", "icon_url", "id_token_session_expiry_supported",
    "id_token_signed_response_algs", "issuer", "jwks_uri", "non_persistent_attrs",
    "oidc_metadata", "pushed_authorization_request_endpoint", "scope",
    "send_back_channel_nonce", "set_user_root_attributes", "tenant_domain", "token_endpoint",
    "token_endpoint_auth_method", "token_endpoint_auth_signing_alg",
    "token_endpoint_jwtca_aud_format", "type", "upstream_params", "useOauthSpecScope",
    "userinfo_endpoint",
})  # fmt: skip
ATTRIBUTE_MAP_FIELDS = frozenset({"attributes", "mapping_mode", "userinfo_scope"})
UPSTREAM_ALIASES = frozenset({
    "acr_values", "audience", "client_id", "display", "id_token_hint", "login_hint",
    "max_age", "prompt", "resource", "response_mode", "response_type", "ui_locales",
})  # fmt: skip
#: POST /oauth/token, client credentials (Authentication API).
TOKEN_FIELDS = frozenset({
    "grant_type", "client_id", "client_secret", "audience", "organization", "scope",
})  # fmt: skip
LIST_QUERY = frozenset({
    "include_totals", "from", "take", "strategy", "name", "fields", "include_fields",
    "page", "per_page",
})  # fmt: skip

_REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    409: "Conflict", 429: "Too Many Requests",
}  # fmt: skip


class Invalid(Exception):
    """A request Auth0 would refuse; becomes its error body."""

    def __init__(self, status: int, message: str, error_code: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any


@dataclass
class Scripted:
    status: int
    times: int
    applies: Callable[[str, str], bool]
    retry_after: int | None = None


@dataclass
class Auth0Standin:
    """The tenant's state (connections, which applications each is enabled for) and what
    was asked of it, for the tests to read."""

    url: str = ""
    m2m_client_id: str = "m2m-gatehouse-tests"
    m2m_client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    connections: dict[str, dict[str, Any]] = field(default_factory=dict)
    enabled: dict[str, set[str]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    scripted: list[Scripted] = field(default_factory=list)
    #: False: answer as Auth0 does to a token without `read:connections_options`, which
    #: leaves `options` out of every connection it returns.
    options_scope: bool = True

    # -- what the tests do -----------------------------------------------------------

    def add_connection(self, name: str, strategy: str, **fields: Any) -> dict[str, Any]:
        """A connection made elsewhere (the dashboard), for the command to find."""
        connection = {"id": f"con_{secrets.token_hex(8)}", "name": name, "strategy": strategy,
                      "display_name": name, "options": {}, "metadata": {},
                      "is_domain_connection": False, "realms": [name], **fields}  # fmt: skip
        self.connections[connection["id"]] = connection
        self.enabled[connection["id"]] = set()
        return connection

    def named(self, name: str) -> dict[str, Any]:
        return next(c for c in self.connections.values() if c["name"] == name)

    def answer(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` matching requests get `status` (429, 409...) instead."""
        self.scripted.append(
            Scripted(
                status,
                times,
                lambda m, p: (method is None or m == method) and (path is None or p == path),
                retry_after,
            )
        )

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def writes(self) -> list[Recorded]:
        """What changed the tenant (the token request does not)."""
        return [
            r
            for r in self.requests
            if r.method in ("POST", "PATCH", "DELETE") and r.path.startswith("/api/")
        ]

    # -- the endpoints ---------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self._endpoint(self._token), methods=["POST"]),
                Route("/api/v2/connections", self._endpoint(self._list), methods=["GET"]),
                Route("/api/v2/connections", self._endpoint(self._create), methods=["POST"]),
                Route("/api/v2/connections/{id}", self._endpoint(self._get), methods=["GET"]),
                Route("/api/v2/connections/{id}", self._endpoint(self._update), methods=["PATCH"]),
                Route(
                    "/api/v2/connections/{id}/clients",
                    self._endpoint(self._enable),
                    methods=["PATCH"],
                ),
            ]
        )

    def _endpoint(self, handler: Callable[[Request, Any], Response]) -> Any:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            body = _parse(raw, request.headers.get("content-type", ""))
            path = request.url.path
            self.requests.append(
                Recorded(request.method, path, list(request.query_params.multi_items()), body)
            )
            scripted = self._scripted(request.method, path)
            if scripted is not None:
                return scripted
            try:
                if path.startswith("/api/"):
                    self._authorize(request)
                    if raw and not request.headers.get("content-type", "").startswith(
                        "application/json"
                    ):
                        raise Invalid(400, "Content-Type must be application/json", "invalid_body")
                return handler(request, body)
            except Invalid as exc:
                return _error(exc.status, str(exc), exc.error_code)

        return endpoint

    def _scripted(self, method: str, path: str) -> Response | None:
        for entry in self.scripted:
            if entry.times > 0 and entry.applies(method, path):
                entry.times -= 1
                if entry.status == 429:
                    return _rate_limited(entry.retry_after)
                if entry.status == 409:
                    return _error(409, "A connection with the same name already exists",
                                  "connection_conflict")  # fmt: skip
                return _error(entry.status, _REASONS.get(entry.status, "Error"), "scripted")
        return None

    def _authorize(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            raise Invalid(401, "Invalid token", "invalid_token")

    def _token(self, request: Request, body: Any) -> Response:
        """Client credentials (Auth0's Authentication API): JSON or a form."""
        if isinstance(body, dict) and set(body) - TOKEN_FIELDS:
            return JSONResponse({"error": "invalid_request",
                                 "error_description": "unknown parameters"}, 400)  # fmt: skip
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_request",
                                 "error_description": "grant_type is required"}, 400)  # fmt: skip
        if body.get("client_id") != self.m2m_client_id or not secrets.compare_digest(
            str(body.get("client_secret", "")), self.m2m_client_secret
        ):
            return JSONResponse({"error": "access_denied", "error_description": "Unauthorized"},
                                401)  # fmt: skip
        if body.get("audience") != f"https://{DOMAIN}/api/v2/":
            return JSONResponse({"error": "access_denied", "error_description":
                                 f"Service not enabled within domain: {body.get('audience')}"},
                                403)  # fmt: skip
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                             "scope": "read:connections create:connections update:connections "
                             "read:connections_options update:connections_options"})  # fmt: skip

    def _list(self, request: Request, _: Any) -> Response:
        unknown = {k for k, _ in request.query_params.multi_items()} - LIST_QUERY
        if unknown:
            raise Invalid(
                400, f"Query validation error: unknown {sorted(unknown)}", "invalid_query_string"
            )
        strategies = request.query_params.getlist("strategy")
        name = request.query_params.get("name")
        found = [
            c
            for c in self.connections.values()
            if (not strategies or c["strategy"] in strategies)
            and (name is None or c["name"] == name)
        ]
        shown = [self._shown(c) for c in found]
        return JSONResponse({"total": len(found), "start": 0, "limit": 50, "connections": shown})

    def _get(self, request: Request, _: Any) -> Response:
        return JSONResponse(self._shown(self._connection(request)))

    def _shown(self, connection: dict[str, Any]) -> dict[str, Any]:
        if self.options_scope:
            return connection
        return {k: v for k, v in connection.items() if k != "options"}

    def _create(self, _: Request, body: Any) -> Response:
        _fields(body, CREATE_FIELDS)
        name = body.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise Invalid(
                400, "Payload validation error: 'name' does not match pattern", "invalid_body"
            )
        if body.get("strategy") != "oidc":
            raise Invalid(
                400, "Payload validation error: this stand-in creates only oidc", "invalid_body"
            )
        if any(c["name"] == name for c in self.connections.values()):
            raise Invalid(
                409, "A connection with the same name already exists", "connection_conflict"
            )
        options = body.get("options")
        _oidc_options(options)
        connection = {"id": f"con_{secrets.token_hex(8)}", "name": name, "strategy": "oidc",
                      "display_name": body.get("display_name") or name, "options": options,
                      "metadata": _metadata(body.get("metadata", {})),
                      "is_domain_connection": bool(body.get("is_domain_connection", False)),
                      "realms": body.get("realms") or [name]}  # fmt: skip
        self.connections[connection["id"]] = connection
        self.enabled[connection["id"]] = set(body.get("enabled_clients") or ())
        return JSONResponse(connection, 201)

    def _update(self, request: Request, body: Any) -> Response:
        connection = self._connection(request)
        _fields(body, UPDATE_FIELDS)
        if "options" in body:
            _oidc_options(body["options"])
            connection["options"] = body["options"]
        if "metadata" in body:
            connection["metadata"] = _metadata(body["metadata"])
        # Auth0: "If display_name is not included in the request, the field will be
        # overwritten with the name value."
        connection["display_name"] = body.get("display_name") or connection["name"]
        return JSONResponse(connection)

    def _enable(self, request: Request, body: Any) -> Response:
        connection = self._connection(request)
        if not isinstance(body, list) or not 1 <= len(body) <= 50:
            raise Invalid(400, "Payload validation error: 1 to 50 items expected", "invalid_body")
        for item in body:
            _fields(item, frozenset({"client_id", "status"}))
            if not isinstance(item.get("client_id"), str) or not isinstance(
                item.get("status"), bool
            ):
                raise Invalid(
                    400, "Payload validation error: client_id and status required", "invalid_body"
                )
        for item in body:
            (
                self.enabled[connection["id"]].add
                if item["status"]
                else self.enabled[connection["id"]].discard
            )(item["client_id"])
        return Response(status_code=204)

    def _connection(self, request: Request) -> dict[str, Any]:
        try:
            return self.connections[request.path_params["id"]]
        except KeyError:
            raise Invalid(404, "The connection does not exist", "inexistent_connection") from None


def _parse(raw: bytes, content_type: str) -> Any:
    import json
    from urllib.parse import parse_qsl

    if not raw:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode()))
    try:
        return json.loads(raw)
    except ValueError:
        return {"__unparseable__": raw.decode(errors="replace")}


def _fields(body: Any, allowed: frozenset[str]) -> None:
    if not isinstance(body, dict):
        raise Invalid(400, "Payload validation error: expected an object", "invalid_body")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Invalid(
            400,
            f"Payload validation error: 'Additional properties not allowed: {', '.join(unknown)}'",
            "invalid_body",
        )


def _oidc_options(options: Any) -> None:
    """What Auth0 checks of an `oidc` connection's options."""
    _fields(options, OIDC_OPTIONS)
    assert isinstance(options, dict)
    if not isinstance(options.get("client_id"), str) or not options["client_id"]:
        raise Invalid(
            400, "Payload validation error: Missing required property: client_id", "invalid_body"
        )
    kind = options.get("type", "front_channel")
    if kind not in ("back_channel", "front_channel"):
        raise Invalid(400, f"Payload validation error: type {kind!r} not allowed", "invalid_body")
    method = options.get("token_endpoint_auth_method", "client_secret_post")
    if method not in ("client_secret_post", "private_key_jwt"):
        raise Invalid(400, f"Payload validation error: {method!r} not allowed", "invalid_body")
    if (
        kind == "back_channel"
        and method == "client_secret_post"
        and not options.get("client_secret")
    ):
        raise Invalid(
            400, "client_secret is required for a back channel connection", "invalid_body"
        )
    scope = options.get("scope", "openid")
    if not isinstance(scope, str) or "openid" not in scope.split():
        raise Invalid(400, "Payload validation error: scope must include openid", "invalid_body")
    for key in ("discovery_url", "issuer"):
        if key in options and not str(options[key]).startswith(("https://", "http://127.0.0.1")):
            raise Invalid(400, f"Payload validation error: {key} must be a URL", "invalid_body")
    aliases = options.get("domain_aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and _DOMAIN_ALIAS.fullmatch(a) for a in aliases
    ):
        raise Invalid(
            400, "Payload validation error: domain_aliases must be domains", "invalid_body"
        )
    for name, param in (options.get("upstream_params") or {}).items():
        if (
            not isinstance(param, dict)
            or len(param) != 1
            or not (param.get("alias") in UPSTREAM_ALIASES or isinstance(param.get("value"), str))
        ):
            raise Invalid(400, f"Payload validation error: upstream_params.{name}", "invalid_body")
    mapping = options.get("attribute_map")
    if mapping is not None:
        _fields(mapping, ATTRIBUTE_MAP_FIELDS)
        if mapping.get("mapping_mode") not in ("use_map", "bind_all"):
            raise Invalid(
                400, "Payload validation error: attribute_map.mapping_mode", "invalid_body"
            )
        if not isinstance(mapping.get("attributes", {}), dict):
            raise Invalid(400, "Payload validation error: attribute_map.attributes", "invalid_body")


def _metadata(metadata: Any) -> dict[str, str]:
    """ConnectionsMetadata: at most 10 keys, string values of at most 255 characters."""
    if not isinstance(metadata, dict) or len(metadata) > 10:
        raise Invalid(
            400, "Payload validation error: metadata allows at most 10 keys", "invalid_body"
        )
    for key, value in metadata.items():
        if not isinstance(value, str) or len(value) > 255 or len(key) > 255:
            raise Invalid(400, f"Payload validation error: metadata.{key}", "invalid_body")
    return dict(metadata)


def _error(status: int, message: str, error_code: str) -> JSONResponse:
    return JSONResponse(
        {"statusCode": status, "error": _REASONS.get(status, "Error"), "message": message,
         "errorCode": error_code},
        status,
    )  # fmt: skip


def _rate_limited(retry_after: int | None) -> JSONResponse:
    """Auth0's Management API answer to a rate limit: the limit, none remaining, and when
    the window resets (a Unix time)."""
    reset = int(time.time()) + 1
    headers = {
        "x-ratelimit-limit": "10",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(reset),
    }
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    response = _error(429, "Global limit has been reached", "too_many_requests")
    response.headers.update(headers)
    return response


@contextmanager
def auth0_standin() -> Iterator[Auth0Standin]:
    """The stand-in, served on a free loopback port until the block ends."""
    standin = Auth0Standin()
    with serve(standin.app(), free_port()) as url:
        standin.url = url
        yield standin


def acme_store(database: Database, *, now: datetime) -> SqlStore:
    """The Gatehouse side `auth0 connect` reads: Acme with acme.example verified (one
    organization, one connection)."""
    store = SqlStore(database.engine)
    with store.unit_of_work() as uow:
        add_organization(uow, org_id="org_acme", name="Acme", domain="acme.example",
                         now=now, connection_id="conn_acme")  # fmt: skip
    return store
