"""Errors as exceptions that carry the API's problem details (RFC 9457)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldProblem:
    pointer: str
    detail: str


class SdkError(Exception):
    """Anything this SDK raises: a refusal of the API (`GatehouseError`), a missing setting
    (`ConfigurationError`) or an answer it cannot read (`MalformedResponse`)."""


class ConfigurationError(SdkError):
    """The SDK was not given what it needs to reach Gatehouse (`from_env` without
    `GATEHOUSE_CLIENT_ID`...)."""


class MalformedResponse(SdkError):
    """An answer lacks a field the SDK needs, or has it with the wrong JSON type: an older
    or broken server, or a proxy's page instead of the API's JSON. Fields the SDK does not
    know are never an error (they go to `extra`)."""

    def __init__(self, resource: str, field: str, problem: str) -> None:
        self.resource = resource
        self.field = field
        super().__init__(f"the API's {resource}: {field} {problem}")


class GatehouseError(SdkError):
    """A refusal of the API. `problem` is the whole document; `detail` what went wrong."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.title = str(problem.get("title", ""))
        self.detail = str(problem.get("detail", ""))
        self.request_reference = str(problem.get("instance", ""))
        super().__init__(f"{status} {self.title}: {self.detail}")


class InvalidRequest(GatehouseError):
    """400, 415 or 422; `errors` points at each field (JSON Pointers)."""

    @property
    def errors(self) -> list[FieldProblem]:
        return [
            FieldProblem(str(e.get("pointer", "")), str(e.get("detail", "")))
            for e in self.problem.get("errors") or []
        ]


class Unauthorized(GatehouseError):
    """401: the client's credentials or token were refused."""


class Forbidden(GatehouseError):
    """403: the token lacks `scope`."""

    @property
    def scope(self) -> str | None:
        scope = self.problem.get("scope")
        return str(scope) if scope else None


class NotFound(GatehouseError):
    """404: absent, or another organization's."""


class Conflict(GatehouseError):
    """409: conflicts with the current state (a taken external id, a domain verified by
    another organization)."""


class RateLimited(GatehouseError):
    """429: retry after `retry_after` seconds."""

    @property
    def retry_after(self) -> int:
        return int(self.problem.get("retry_after") or 1)


_BY_STATUS: dict[int, type[GatehouseError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(status: int, problem: Mapping[str, Any]) -> GatehouseError:
    return _BY_STATUS.get(status, GatehouseError)(status, problem)
