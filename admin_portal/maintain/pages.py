"""What the maintenance pages share: the connection a URL names, a page that exists for one
protocol only, and a refusal as the form shows it."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import Response

from admin_portal.page_context import Portal, Visit
from admin_portal.setup.field_errors import FORM, NO_ERRORS, FormErrors, form_errors
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.records import Connection

log = logging.getLogger(__name__)


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


class ProtocolPage:
    """A form page of one protocol's connections (`kind`), rendered with `template`; a
    change it saves is a draft, and the browser goes back to the overview."""

    kind: ClassVar[str]
    template: ClassVar[str]

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def connection(self, request: Request, visit: Visit) -> Connection:
        return connection_of(self.portal, request, visit, kind=self.kind)

    async def show(self, request: Request, visit: Visit) -> Response:
        return self.render(request, visit, self.connection(request, visit))

    def context(self, connection: Connection) -> Mapping[str, Any]:
        """What the template needs besides the connection and the errors."""
        return {}

    def render(
        self,
        request: Request,
        visit: Visit,
        connection: Connection,
        *,
        errors: FormErrors = NO_ERRORS,
        status: int = 200,
        **shown_back: object,
    ) -> Response:
        context = {"connection": connection, "errors": errors,
                   **self.context(connection), **shown_back}  # fmt: skip
        return self.portal.render(request, self.template, context, visit=visit, status=status)

    def saved(self, connection: Connection) -> Response:
        return self.portal.redirect(f"/connections/{connection.id}?done=saved")

    def conflict(
        self, request: Request, visit: Visit, connection: Connection, exc: ResourceConflict
    ) -> Response:
        """Changed meanwhile (another tab): the page again, as it is now, with why."""
        log.info("portal change refused connection=%s: %s", connection.id, exc.detail)
        errors = FormErrors({FORM: sentence(exc.detail)})
        current = self.connection(request, visit)
        return self.render(request, visit, current, errors=errors, status=409)


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
