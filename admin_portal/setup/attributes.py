"""Step 5: which IdP attributes (SAML) or claims (OIDC) each claim is read from, pre-filled
with the vendor's defaults, and which ones a login requires.

The page leads with plain words: per piece of information (email, first name, last name,
groups...), whether it is needed, what the vendor's console calls it and the name to send it
under. The full lists of names Gatehouse accepts (OIDs, claim URIs) are what an admin edits
rarely, so they wait behind "Attribute names we accept"."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.emphasis import emphasize
from admin_portal.guides import Guide, guide_for
from admin_portal.guides.values import (
    CLAIM_LABELS,
    current_names,
    default_names,
    required_claims,
)
from admin_portal.page_context import Portal, Visit
from admin_portal.setup.attribute_form import locked_claims, read_attributes
from admin_portal.setup.field_errors import FORM, NO_ERRORS, FormErrors, form_errors, sentence
from admin_portal.setup.flow import nav, page, setup_connection
from broker.management.connection_view import awaiting_idp
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.records import Connection
from broker.upstream.config_fields import STANDARD_CLAIMS
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)
_POINTERS = {f"/settings/attribute_mapping/{c}": f"names_{c}" for c in STANDARD_CLAIMS}


@dataclass(frozen=True, slots=True)
class ClaimRow:
    claim: str
    label: str
    names: str  # as the field shows them, comma-separated
    defaults: str
    required: bool
    locked: bool
    #: The name to send it under: the first this connection reads ("" if none).
    send_as: str
    #: Where the value comes from in the vendor's console, in its words ("user.email").
    source: Markup


def claim_rows(
    connection: Connection, locked: frozenset[str], typed: Mapping[str, str] | None = None
) -> list[ClaimRow]:
    """Every standard claim, the required ones first (what the login cannot do without)."""
    names = current_names(connection)
    defaults = default_names(connection)
    required = set(required_claims(connection)) | locked
    sources = _guide(connection).sources
    rows = [
        ClaimRow(
            claim=claim,
            label=CLAIM_LABELS[claim],
            names=typed[claim] if typed is not None else ", ".join(names[claim]),
            defaults=", ".join(defaults.get(claim, ())),
            required=claim in required,
            locked=claim in locked,
            send_as=names[claim][0] if names[claim] else "",
            source=emphasize(sources.get(claim, "")),
        )
        for claim in STANDARD_CLAIMS
    ]
    return sorted(rows, key=lambda row: not row.required)


def _guide(connection: Connection) -> Guide:
    strategy = connection.config.get("strategy")
    return guide_for(strategy if isinstance(strategy, str) else None, connection.kind)


def routes(portal: Portal) -> list[BaseRoute]:
    def render(
        request: Request,
        visit: Visit,
        connection: Connection,
        rows: list[ClaimRow],
        errors: FormErrors = NO_ERRORS,
        status: int = 200,
    ) -> Response:
        return portal.render(
            request, "setup_attributes.html",
            {"connection": connection, "rows": rows, "errors": errors,
             "product": _guide(connection).product,
             "awaiting": awaiting_idp(connection),
             "steps": nav(visit, "attributes", connection.id)},
            visit=visit, status=status,
        )  # fmt: skip

    async def show(request: Request, visit: Visit) -> Response:
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        return render(request, visit, connection, claim_rows(connection, locked_claims(visit)))

    async def save(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        locked = locked_claims(visit)
        typed = None
        try:
            choice = read_attributes(form, default_names(connection), locked)
            typed = choice.typed
            await run_in_threadpool(
                portal.management.connections.update,
                visit.actor, visit.organization.id, connection.id,
                settings={"attribute_mapping": choice.mapping,
                          "required_claims": choice.required},
            )  # fmt: skip
        except InvalidInput as exc:
            log.info("portal attributes refused connection=%s: %s", connection.id, exc)
            errors = form_errors(exc, _POINTERS)
            if awaiting_idp(connection):
                errors = FormErrors(
                    {
                        FORM: "Give Gatehouse your identity provider's settings "
                        "first (the Settings step), then choose the attributes."
                    }
                )
            typed = typed or {c: str(form.get(f"names_{c}") or "") for c in STANDARD_CLAIMS}
            rows = claim_rows(connection, locked, typed)
            return render(request, visit, connection, rows, errors, 422)
        except ResourceConflict as exc:
            errors = FormErrors({FORM: sentence(exc.detail)})
            rows = claim_rows(connection, locked)
            return render(request, visit, connection, rows, errors, 409)
        return portal.redirect(f"/setup/{connection.id}/test")

    path = "/setup/{connection_id:str}/attributes"
    return [
        Route(path, page(portal, show), methods=["GET"]),
        Route(path, page(portal, save), methods=["POST"]),
    ]
