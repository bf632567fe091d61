"""Running one management API request: authenticate, authorize the operation's scope, count
it against the caller's rate limit, parse its query and body with the operation's models,
replay or reserve its Idempotency-Key, call the use case, and answer JSON or a problem.

The order is deliberate: nothing about a resource is read before the caller is known and
allowed, so a 404 (another organization's resource) is only ever told to an authorized
caller, and identical to an absent resource's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ValidationError

from broker.clock import Clock
from broker.http import HttpRequest, HttpResponse
from broker.limiter import RateLimiter
from broker.management.access import AccessTokens, Principal
from broker.management.api.operations import NDJSON, Call, Operation, Reply
from broker.management.api.problems import from_validation_error, problem_response
from broker.management.errors import (
    InvalidInput,
    ManagementError,
    RateLimited,
    ResourceConflict,
    ResourceNotFound,
    UnsupportedMediaType,
)
from broker.metrics import recording as metrics
from broker.model.management import StoredResponse
from broker.model.rate_limits import Limit
from broker.store import Store

log = logging.getLogger(__name__)

IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY = 255
_JSON = {"Content-Type": "application/json", "Cache-Control": "no-store"}


class ManagementApi:
    def __init__(
        self,
        *,
        tokens: AccessTokens,
        store: Store,
        clock: Clock,
        limiter: RateLimiter,
        requests_per_minute: int = 600,
    ) -> None:
        self._tokens = tokens
        self._store = store
        self._clock = clock
        self._limiter = limiter
        self._limit = Limit(name="api", requests=requests_per_minute)

    def handle(
        self, operation: Operation, request: HttpRequest, path: Mapping[str, str]
    ) -> HttpResponse:
        try:
            principal = self._tokens.authenticate(request)
            principal.require(operation.scope)
            self._count(principal)
            _check_path(path)
            call = Call(
                principal=principal,
                path=dict(path),
                query=_parse_query(operation, request),
                body=_parse_body(operation, request),
                request=request,
            )
            key = request.header("idempotency-key")
            if request.method == "POST" and key is not None:
                return self._idempotent(operation, call, key)
            return _respond(operation.handler(call))
        except ManagementError as error:
            if error.status >= 500 or error.status in (401, 403, 429):
                log.info("management api refused status=%s %s", error.status, error.detail)
            return problem_response(error, request_id=request.request_id)

    def _count(self, principal: Principal) -> None:
        """Per authenticated client (the caller is known by now), in `broker.limiter`'s
        shared counters like every other limit."""
        refused = self._limiter.check(self._limit.bucket(principal.client_id))
        if refused is not None:
            metrics.rate_limited("api")
            raise RateLimited(refused.retry_after)

    def _idempotent(self, operation: Operation, call: Call, key: str) -> HttpResponse:
        """Stripe's and the IETF draft's semantics: the same key with the same request
        replays the first answer; with a different request it is refused (422); while the
        first is still running, 409."""
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise InvalidInput.at(
                "/", f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
            )
        fingerprint = hashlib.sha256(
            b"\0".join([call.request.method.encode(), call.request.url.encode(), call.request.body])
        ).hexdigest()
        client = call.principal.client_id
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            stored = uow.idempotency.begin(
                client, key, request_hash=fingerprint, now=now, expires_at=now + IDEMPOTENCY_TTL
            )
        if stored is not None:
            if stored.request_hash != fingerprint:
                raise InvalidInput.at("/", "this Idempotency-Key was used for another request")
            if not stored.status:
                raise ResourceConflict("a request with this Idempotency-Key is still running")
            headers = dict(_JSON)
            if stored.location:
                headers["Location"] = stored.location
            headers["Idempotent-Replayed"] = "true"
            body = operation.replay(stored.body) if operation.replay else stored.body
            return HttpResponse(
                status=stored.status, body=json.dumps(body).encode(), headers=headers
            )
        try:
            reply = operation.handler(call)
        except BaseException:
            with self._store.unit_of_work() as uow:
                uow.idempotency.release(client, key)
            raise
        response = _respond(reply)
        if reply.kept is not None:
            body = dict(reply.kept)
        else:
            body = json.loads(response.body) if response.body else {}
        with self._store.unit_of_work() as uow:
            uow.idempotency.finish(
                client,
                key,
                StoredResponse(
                    request_hash=fingerprint,
                    status=response.status,
                    body=body,
                    location=reply.location,
                ),
            )
        return response


def _respond(reply: Reply) -> HttpResponse:
    headers = {**_JSON, **(reply.headers or {})}
    if reply.location:
        headers["Location"] = reply.location
    if reply.lines is not None:
        lines = b"".join(
            line.model_dump_json(by_alias=True).encode() + b"\n" for line in reply.lines
        )
        return HttpResponse(
            status=reply.status, body=lines, headers={**headers, "Content-Type": NDJSON}
        )
    if reply.body is None:
        return HttpResponse(status=reply.status, headers={"Cache-Control": "no-store"})
    body = reply.body.model_dump_json(by_alias=True).encode()
    return HttpResponse(status=reply.status, body=body, headers=headers)


def _check_path(path: Mapping[str, str]) -> None:
    """No id or domain Gatehouse stores holds a control character, and PostgreSQL refuses
    a NUL in a text parameter outright (a 500 where an unknown id gets a 404): a path value
    with one names nothing."""
    if not all(value.isprintable() for value in path.values()):
        raise ResourceNotFound("nothing at this path")


def _parse_query(operation: Operation, request: HttpRequest) -> BaseModel | None:
    if operation.query is None:
        return None
    repeated = [name for name, values in request.query.items() if len(values) > 1]
    if repeated:
        raise InvalidInput.at(f"/{repeated[0]}", "this parameter appears more than once")
    values = {name: v[0] for name, v in request.query.items()}
    try:
        return operation.query.model_validate(values)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def _parse_body(operation: Operation, request: HttpRequest) -> BaseModel | None:
    if operation.body is None:
        return None
    media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    try:
        return operation.body.model_validate_json(request.body or b"")
    except ValidationError as exc:
        raise from_validation_error(exc) from exc
