"""An OIDC connection's new client secret, saved as a draft. Write-only: the form never
shows a secret, the stored one included, and a refused one is not put back."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from admin_portal.maintain.pages import ProtocolPage, errors_on
from admin_portal.page_context import Visit
from broker.management.errors import InvalidInput, ResourceConflict
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)


class Pages(ProtocolPage):
    kind = OidcConnectionConfig.kind
    template = "maintain_secret.html"

    async def submit(self, request: Request, visit: Visit) -> Response:
        form = await self.portal.form(request, visit)
        connection = self.connection(request, visit)
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
            return self.conflict(request, visit, connection, exc)
        return self.saved(connection)
