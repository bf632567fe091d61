"""Errors as RFC 9457 problem details (`application/problem+json`).

Every refusal of the API has this one shape: `type`, `title`, `status`, `detail`, plus
`errors` (JSON Pointers into the request body, for invalid input), `scope` (the scope that
was missing) or `retry_after`. Nothing in a problem comes from a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationError

from broker.http import HttpResponse
from broker.management.errors import (
    FieldError,
    InvalidInput,
    ManagementError,
    MissingScope,
    RateLimited,
    Unauthenticated,
)

MEDIA_TYPE = "application/problem+json"


class ProblemFieldError(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request body")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = None
    scope: str | None = None
    retry_after: int | None = None


def problem_response(error: ManagementError, *, request_id: str | None = None) -> HttpResponse:
    slug = type(error).__name__.replace("Resource", "")
    body: dict[str, object] = {
        "type": f"urn:gatehouse:problem:{_kebab(slug)}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    headers = {"Content-Type": MEDIA_TYPE, "Cache-Control": "no-store"}
    if isinstance(error, InvalidInput):
        body["errors"] = [{"pointer": e.pointer, "detail": e.detail} for e in error.errors]
    if isinstance(error, MissingScope):
        body["scope"] = error.scope
        headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{error.scope}"'
    if isinstance(error, RateLimited):
        body["retry_after"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if request_id:
        body["instance"] = f"urn:gatehouse:request:{request_id}"
    return HttpResponse(status=error.status, body=json.dumps(body).encode(), headers=headers)


def from_validation_error(exc: ValidationError, *, prefix: str = "") -> InvalidInput:
    """pydantic's errors as field errors with JSON Pointers (`loc` ("branding",
    "logo_url") becomes `/branding/logo_url`)."""
    errors: list[FieldError] = []
    for item in exc.errors(include_url=False):
        location: Sequence[object] = item.get("loc", ())
        pointer = prefix + "".join(f"/{_escape(str(part))}" for part in location)
        errors.append(FieldError(pointer or "/", _message(item)))
    return InvalidInput(errors)


def _message(item: object) -> str:
    assert isinstance(item, dict)
    kind = item.get("type")
    if kind == "extra_forbidden":
        return "this field is not accepted here"
    if kind == "missing":
        return "this field is required"
    return str(item.get("msg", "invalid"))


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
