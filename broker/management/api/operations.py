"""One table describes the management API: each `Operation` names its method and path, the
scope it needs, the models it reads and answers with, and the use case it calls. The web
layer mounts it, the dispatcher enforces it, and the OpenAPI document is generated from it,
so the documented API and the served one cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from broker.http import HttpRequest
from broker.management.access import Principal


@dataclass(frozen=True, slots=True)
class Call:
    """One request, authenticated and parsed."""

    principal: Principal
    path: Mapping[str, str]
    query: BaseModel | None
    body: BaseModel | None
    request: HttpRequest


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: BaseModel | None = None
    #: For 201: where the new resource lives (relative to the issuer).
    location: str | None = None
    #: What an Idempotency-Key keeps for a retry instead of `body`, when the body carries
    #: a secret shown once that must not rest in the database in clear (a portal link's
    #: URL); the operation's `replay` turns it back into the body.
    kept: Mapping[str, object] | None = None
    #: For an operation whose `media_type` is NDJSON: the records, one JSON line each,
    #: instead of `body`.
    lines: Sequence[BaseModel] | None = None
    #: Extra headers (a `Link` to the next page of an export).
    headers: Mapping[str, str] | None = None


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    method: str
    path: str  # relative to /api/v1, Starlette and OpenAPI syntax: /organizations/{organization_id}
    operation_id: str
    summary: str
    tag: str
    scope: str
    handler: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    #: Problem statuses this operation may answer besides 401, 403, 429.
    errors: tuple[int, ...] = (404,)
    description: str = ""
    #: POSTs that create take an Idempotency-Key.
    idempotent_post: bool = field(default=False)
    #: For a handler that answers `Reply.kept`: the body a retry gets back from it.
    replay: Callable[[Mapping[str, object]], Mapping[str, object]] | None = None
    #: What a success answers: JSON, or `NDJSON` (`response` is then one line's model).
    media_type: str = "application/json"


#: Newline-delimited JSON: one record per line, for exports a SIEM reads as a stream.
NDJSON = "application/x-ndjson"
