"""What a management use case can refuse, independent of how it is called.

The REST API turns these into RFC 9457 problem documents, the CLI into a message, the portal
into a form error. Use cases raise them; they never build HTTP responses themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """`pointer` is a JSON Pointer into the request body (RFC 6901): `/branding/logo_url`."""

    pointer: str
    detail: str


class ManagementError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ResourceNotFound(ManagementError):
    """Absent, or another organization's: the two are indistinguishable (M-01, M-10)."""

    status = 404
    title = "Not found"


class ResourceConflict(ManagementError):
    status = 409
    title = "Conflict"


class InvalidInput(ManagementError):
    status = 422
    title = "Invalid input"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(f"{e.pointer or '/'}: {e.detail}" for e in errors))
        self.errors = tuple(errors)

    @classmethod
    def at(cls, pointer: str, detail: str) -> InvalidInput:
        return cls([FieldError(pointer, detail)])


class Unauthenticated(ManagementError):
    status = 401
    title = "Unauthorized"


class MissingScope(ManagementError):
    status = 403
    title = "Forbidden"

    def __init__(self, scope: str) -> None:
        super().__init__(f"this operation needs the {scope} scope")
        self.scope = scope


class RateLimited(ManagementError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after} s")
        self.retry_after = retry_after


class UnsupportedMediaType(ManagementError):
    status = 415
    title = "Unsupported media type"
