"""What the maintenance pages share: the connection a URL names, and a refusal as the form
shows it."""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request

from admin_portal.kit import Portal, Visit
from admin_portal.setup.field_errors import FORM, FormErrors, form_errors
from broker.domain.model import Connection
from broker.management.errors import InvalidInput, ResourceNotFound


def connection_of(
    portal: Portal, request: Request, visit: Visit, *, kind: str | None = None
) -> Connection:
    """The connection in the URL, through the one scoped read (T-04). `kind`: the page
    exists only for that protocol (certificates for SAML, a secret for OIDC); for the other
    it is "not found", like an id that is not this session's."""
    connection = portal.connection(visit, str(request.path_params["connection_id"]))
    if kind is not None and connection.kind != kind:
        raise ResourceNotFound(f"{kind} page of connection {connection.id}")
    return connection


def errors_on(error: InvalidInput, fields: Collection[str]) -> FormErrors:
    """Each error beside its field when the page has that field, else at the top."""
    found: dict[str, str] = {}
    for field, message in form_errors(error).by_field.items():
        found.setdefault(field if field in fields else FORM, message)
    return FormErrors(found)


def sentence(detail: str) -> str:
    """A use case's refusal ("test a login ... first") as the page says it."""
    text = detail.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
