"""A SAML connection's trusted signing certificates: add the IdP's next one (a file, PEM or
DER, pasted text, or the IdP's metadata fetched again), remove one. Each saves a draft; the
overview then offers to test it and switch over.

A pasted or uploaded value is never shown back, even refused: a private key pasted by
mistake (T-11) must not come back in a page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from admin_portal.maintain.overview import trusted_after_switch_over
from admin_portal.maintain.pages import ProtocolPage, errors_on
from admin_portal.page_context import Visit
from admin_portal.setup.field_errors import FormErrors
from admin_portal.setup.settings_form import certificate_text, text, upload
from broker.management.connections import Saved
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.records import Connection
from broker.upstream.saml.config import SamlConnectionConfig
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)

_FIELDS = ("certificate", "metadata_url", "remove")


class Pages(ProtocolPage):
    kind = SamlConnectionConfig.kind
    template = "maintain_certificates.html"

    def context(self, connection: Connection) -> Mapping[str, Any]:
        now = self.portal.clock.now()
        return {"certificates": trusted_after_switch_over(connection, now), "metadata_url": ""}

    async def submit(self, request: Request, visit: Visit) -> Response:
        try:
            return await self._submit(request, visit)
        finally:
            await request.close()  # an upload's temporary file, refused or not

    async def _submit(self, request: Request, visit: Visit) -> Response:
        form = await self.portal.form(request, visit)
        connection = self.connection(request, visit)
        action = text(form, "action")
        try:
            await self._apply(visit, connection, action, form)
        except InvalidInput as exc:
            log.info("certificate change refused connection=%s: %s", connection.id, exc)
            errors = errors_on(exc, _FIELDS)
            if action == "remove":  # beside the list the remove buttons are in
                errors = FormErrors({"remove": next(iter(errors.by_field.values()))})
            return self.render(
                request, visit, connection, errors=errors,
                metadata_url=text(form, "metadata_url"), status=422,
            )  # fmt: skip
        except ResourceConflict as exc:
            return self.conflict(request, visit, connection, exc)
        return self.saved(connection)

    async def _apply(
        self, visit: Visit, connection: Connection, action: str, form: Mapping[str, Any]
    ) -> Saved:
        drafts = self.portal.management.connection_drafts
        where = (visit.actor, visit.organization.id, connection.id)
        if action == "add":
            certificate = await _certificate(form)
            return await run_in_threadpool(drafts.add_certificate, *where, certificate)
        if action == "fetch":
            url = text(form, "metadata_url")
            if not url:
                raise InvalidInput.at("/settings/metadata_url", "is required")
            return await run_in_threadpool(drafts.add_certificates_from_metadata, *where, url)
        if action == "remove":
            fingerprint = text(form, "fingerprint")
            return await run_in_threadpool(drafts.remove_certificate, *where, fingerprint)
        raise InvalidInput.at("/action", "Choose what to do: add or remove a certificate.")


async def _certificate(form: Mapping[str, Any]) -> str:
    """From the file, else the pasted text; one of them is needed."""
    uploaded = certificate_text(await upload(form, "certificate_file"))
    pasted = text(form, "certificate_text")
    if uploaded and pasted:
        raise InvalidInput.at(
            "/settings/certificates/0", "Choose a file or paste the certificate, not both."
        )
    if not uploaded and not pasted:
        raise InvalidInput.at(
            "/settings/certificates/0", "Choose the certificate file, or paste its text."
        )
    return uploaded or pasted
