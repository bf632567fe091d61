"""An OIDC connection's new client secret, saved as a draft. Write-only: the form never
shows a secret, the stored one included, and a refused one is not put back."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from admin_portal.kit import Portal, Visit
from admin_portal.maintain.pages import connection_of, errors_on, sentence
from admin_portal.setup.field_errors import FORM, NO_ERRORS, FormErrors
from broker.domain.model import Connection
from broker.management.errors import InvalidInput, ResourceConflict
from broker.upstream.oidc.config import OidcConnectionConfig

log = logging.getLogger(__name__)


class Pages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    async def show(self, request: Request, visit: Visit) -> Response:
        connection = connection_of(self.portal, request, visit, kind=OidcConnectionConfig.kind)
        return self.render(request, visit, connection)

    async def submit(self, request: Request, visit: Visit) -> Response:
        form = await self.portal.form(request, visit)
        connection = connection_of(self.portal, request, visit, kind=OidcConnectionConfig.kind)
        secret = form.get("client_secret")
        try:
            if not isinstance(secret, str) or not secret:
                raise InvalidInput.at("/settings/client_secret", "is required")
            await run_in_threadpool(
                self.portal.management.connection_drafts.change_client_secret, visit.actor,
                visit.organization.id, connection.id, secret,
            )  # fmt: skip
        except InvalidInput as exc:
            log.info("client secret change refused connection=%s: %s", connection.id, exc)
            errors = errors_on(exc, ("client_secret",))
            return self.render(request, visit, connection, errors=errors, status=422)
        except ResourceConflict as exc:
            log.info("client secret change refused connection=%s: %s", connection.id, exc)
            errors = FormErrors({FORM: sentence(exc.detail)})
            return self.render(request, visit, connection, errors=errors, status=409)
        return self.portal.redirect(f"/connections/{connection.id}?done=saved")

    def render(
        self,
        request: Request,
        visit: Visit,
        connection: Connection,
        *,
        errors: FormErrors = NO_ERRORS,
        status: int = 200,
    ) -> Response:
        context = {"connection": connection, "errors": errors}
        return self.portal.render(
            request, "maintain_secret.html", context, visit=visit, status=status
        )
