"""One SCIM request of a directory, in and out: `DirectoryScim.handle(ScimCall)`.

    body cap -> bearer token -> quirks -> scim2-server's handler on our storage, in one
    unit of work -> SCIM answer; then the outcome in the directory's request log

Every refusal is a SCIM error (RFC 7644 §3.12: `schemas`, `status`, `scimType`,
`detail`), never a 5xx for what a client sent. A failed request rolls its unit of work
back: nothing half-written, no event recorded. A refused token is counted per client
address (`scim_auth_failures` a minute, then 429): accepted requests are not counted, so
an initial sync of 10,000 users costs no rate-limit writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    NotImplementedException,
    PayloadTooLargeException,
    SCIMException,
    UnauthorizedException,
)
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import SCIM_MEDIA_TYPE, ScimResponse

from broker.clock import Clock
from broker.directory import filters, provider as scim, quirks, tokens
from broker.directory.events import EventContext
from broker.directory.storage import DirectoryStorage
from broker.directory.tokens import Refusal
from broker.limiter import RateLimiter
from broker.model.directories import Directory, DirectoryRequest
from broker.model.opaque import looks_like_id, new_id
from broker.model.rate_limits import Limit, address_key
from broker.store.protocols import NotFound, Store, StoreError, UnitOfWork

log = logging.getLogger(__name__)

#: The largest body read (RFC 7644 §3.12 413). A PATCH adding 1,000 members is ~60 KB.
MAX_BODY = 1024 * 1024
_WRITES = frozenset({"PUT", "PATCH", "DELETE"})
_BODIES = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimCall:
    """`path` is below the directory's base URL (`/Users/abc`, `` for the root); header
    names are lower case."""

    directory_id: str
    method: str
    path: str
    base_url: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_ip: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScimAnswer:
    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str]
    #: Why a token was refused (for the log and metrics), None when it was accepted.
    refusal: str | None = None


class _Refused(Exception):
    """Carries an error answer out of the unit of work, which then rolls back."""

    def __init__(self, response: ScimResponse, directory: Directory | None = None) -> None:
        self.response = response
        self.directory = directory


class _Unauthenticated(Exception):
    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


class DirectoryScim:
    def __init__(
        self, *, store: Store, clock: Clock, limiter: RateLimiter, auth_failures: int
    ) -> None:
        self._store = store
        self._clock = clock
        self._limiter = limiter
        self._failures = Limit(name="scim-auth", requests=auth_failures)
        scim.warm_up()

    def handle(self, call: ScimCall) -> ScimAnswer:
        if len(call.body) > MAX_BODY:
            return _answer(
                _error(PayloadTooLargeException(detail=f"the body exceeds {MAX_BODY} bytes"))
            )
        request = ScimRequest(
            method=call.method.upper(),
            base_url=call.base_url,
            path=call.path or "/",
            query=dict(call.query),
            headers=dict(call.headers),
            body=call.body,
        )
        if _is_service_provider_config(call.path):
            # RFC 7643 §5: readable without authentication; the same for every directory.
            return _answer(self._serve(request, None))
        # One transaction authenticates and serves: a write and its events commit with the
        # token check that allowed them, and a request costs one transaction, not two.
        try:
            with self._store.unit_of_work() as uow:
                authenticated = tokens.authenticate(
                    uow,
                    call.directory_id,
                    tokens.bearer(call.headers.get("authorization")),
                    self._clock.now(),
                )
                if isinstance(authenticated, Refusal):
                    raise _Unauthenticated(authenticated)
                context = EventContext(directory=authenticated, request_id=call.request_id)
                response = self._serve(request, context, uow)
                # The log line commits with the change it records: no second transaction.
                uow.directories.log_request(self._entry(authenticated, call, response))
        except _Unauthenticated as refused:
            return self._refuse(call, refused.refusal)
        except _Refused as refused:
            response = refused.response
            if refused.directory is not None:
                self._log(refused.directory, call, response)
            return _answer(response)
        except StoreError:
            log.exception("SCIM request failed on the store")
            response = _error_status(
                HTTPStatus.SERVICE_UNAVAILABLE, "the directory is unavailable; retry later"
            )
            return _answer(response)
        return _answer(response)

    def _serve(
        self, request: ScimRequest, context: EventContext | None, uow: UnitOfWork | None = None
    ) -> ScimResponse:
        """The handler's answer; a SCIM error raises `_Refused` (rolling `uow` back), except
        for the unauthenticated ServiceProviderConfig, whose errors are answered."""
        directory = None if context is None else context.directory
        try:
            request.body = _normalised(request)
            filter_text = request.query.get("filter")
            if filter_text is not None:
                filters.check_raw(filter_text)
            if context is None or uow is None:
                return ScimHandler(scim.service(), _NoStorage()).handle(request)  # type: ignore[arg-type]
            storage = DirectoryStorage(
                uow,
                context,
                clock=self._clock,
                models=scim.models(),
                lock_reads=request.method in _WRITES,
            )
            request.body = _with_current(request, storage)
            return ScimHandler(scim.service(), storage).handle(request)
        except SCIMException as exc:
            if context is None:
                return _error(exc)
            raise _Refused(_error(exc), directory) from exc
        except ValidationError as exc:
            raise _Refused(
                _error(InvalidValueException(detail=_first_error(exc))), directory
            ) from exc

    def _refuse(self, call: ScimCall, refusal: Refusal) -> ScimAnswer:
        over = self._limiter.check(self._failures.bucket(address_key(call.client_ip)))
        if over is not None:
            response = _error_status(
                HTTPStatus.TOO_MANY_REQUESTS, "too many refused tokens; retry later"
            )
            response.headers["Retry-After"] = str(over.retry_after)
            return _answer(response, refusal.reason)
        response = _error(UnauthorizedException(detail="invalid token"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim", error="invalid_token"'
        if not looks_like_id(call.directory_id):
            return _answer(response, refusal.reason)
        try:
            with self._store.unit_of_work() as uow:
                directory = uow.directories.get(call.directory_id)
        except (NotFound, StoreError):
            return _answer(response, refusal.reason)
        self._log(directory, call, response, detail=refusal.reason)
        return _answer(response, refusal.reason)

    def _log(
        self,
        directory: Directory,
        call: ScimCall,
        response: ScimResponse,
        *,
        detail: str | None = None,
    ) -> None:
        """The outcome of a request whose unit of work rolled back (a refusal), for the
        portal's log of recent requests, in a transaction of its own; best effort (a
        request already answered is not failed by its log line)."""
        entry = self._entry(directory, call, response, detail=detail)
        try:
            with self._store.unit_of_work() as uow:
                uow.directories.log_request(entry)
        except Exception:
            log.warning("could not log a SCIM request of directory %s", directory.id)

    def _entry(
        self,
        directory: Directory,
        call: ScimCall,
        response: ScimResponse,
        *,
        detail: str | None = None,
    ) -> DirectoryRequest:
        body = response.body or {}
        failed = int(response.status) >= 400
        return DirectoryRequest(
            id=new_id("dsr"),
            directory_id=directory.id,
            at=self._clock.now(),
            method=_printable(call.method.upper())[:16],
            path=_printable(call.path or "/")[:200],
            status=int(response.status),
            scim_type=body.get("scimType") if failed else None,
            detail=_printable(detail or str(body.get("detail")))[:300]
            if detail or failed
            else None,
        )


class _NoStorage:
    """The storage of the unauthenticated ServiceProviderConfig request, which reads none."""

    supports_cursors = False
    _search_takes_position = True

    def operation(self) -> Any:
        raise AssertionError("ServiceProviderConfig reads no storage")


def _normalised(request: ScimRequest) -> bytes:
    """The body with the vendors' quirks made standard (`quirks`); invalid JSON is
    `invalidSyntax` here, before anything else reads it."""
    if request.method not in _BODIES or not request.body.strip():
        return request.body
    try:
        decoded = json.loads(request.body)
    except (ValueError, RecursionError):
        raise InvalidSyntaxException(detail="the body is not JSON") from None
    if _holds_nul(decoded):
        # No SCIM attribute holds a NUL, and PostgreSQL's text cannot store one.
        raise InvalidValueException(detail="a value holds a NUL character")
    return json.dumps(quirks.normalise_body(decoded)).encode()


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False


def _printable(text: str) -> str:
    """For the request log: what a client put in a path is shown, its control characters
    (a NUL PostgreSQL cannot store, a newline that would forge a line) as `?`."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def _with_current(request: ScimRequest, storage: DirectoryStorage) -> bytes:
    """A User PATCH whose paths Entra filters by type (`quirks.typed_value_without_target`)
    needs the stored user; read it (locked, as the handler will) only then."""
    if request.method != "PATCH" or not request.path.strip("/").lower().startswith("users/"):
        return request.body
    body = json.loads(request.body) if request.body.strip() else None
    if not isinstance(body, dict) or not quirks.needs_current(body):
        return request.body
    user_id = request.path.strip("/").split("/", 1)[1]
    current = storage.get(scim.resource_type("User"), user_id)
    stored = current.model_dump(mode="json")
    return json.dumps(quirks.typed_value_without_target(body, stored)).encode()


def _is_service_provider_config(path: str) -> bool:
    return path.strip("/").lower() == "serviceproviderconfig"


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0].get("msg", "invalid value"))[:200] if errors else "invalid value"


def _error(exc: SCIMException) -> ScimResponse:
    """The SCIM error of `exc`. What Gatehouse does not implement (`/Me`, `/Bulk`, search
    at the root: RFC 7644 lets a server answer 501) is answered 404 instead: a client's
    request never gets a 5xx, which reads as "Gatehouse is broken, retry"."""
    if isinstance(exc, NotImplementedException):
        exc = NotFoundException(detail=exc.detail or "not supported")
    return scim.service().error_response(exc)


def _error_status(status: HTTPStatus, detail: str) -> ScimResponse:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(int(status)),
        "detail": detail,
    }
    return ScimResponse(status, body)


def _answer(response: ScimResponse, refusal: str | None = None) -> ScimAnswer:
    headers = dict(response.headers)
    headers["Content-Type"] = SCIM_MEDIA_TYPE
    headers.setdefault("Cache-Control", "no-store")
    return ScimAnswer(int(response.status), response.body, headers, refusal)
