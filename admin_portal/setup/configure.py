"""Step 4: give Gatehouse the IdP's values. Saved through `Connections.update`, the same
parse as every other door; a refusal comes back beside the field it is about, keeping what
the admin typed (except a secret, which is never put back into a page)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.emphasis import emphasize
from admin_portal.guides import guide_for
from admin_portal.page_context import Portal, Visit
from admin_portal.setup.field_errors import FORM, NO_ERRORS, FormErrors, form_errors, sentence
from admin_portal.setup.flow import nav, page, setup_connection
from admin_portal.setup.settings_form import (
    OIDC_TYPED,
    SAML_TYPED,
    SettingsChange,
    read_oidc,
    read_saml,
    shown_back,
)
from broker.errors import ConfigError
from broker.management.connection_view import CertificateView, awaiting_idp, certificate_view
from broker.management.connections import Saved
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.records import Connection
from broker.upstream.config_fields import ConfigReader
from broker.upstream.oidc.config import TOKEN_AUTH_METHODS
from broker.upstream.urls import endpoints_for
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)

AUTH_METHOD_NAMES = {
    "client_secret_basic": "Client secret, basic (client_secret_basic)",
    "client_secret_post": "Client secret, in the body (client_secret_post)",
    "private_key_jwt": "Gatehouse's own key, no secret (private_key_jwt)",
}


def stored_values(connection: Connection) -> dict[str, Any]:
    """What the form shows of the stored settings (never a secret or a private key)."""
    config = connection.config
    if connection.kind == "saml":
        pems = config.get("idp_certificates")
        return {
            "idp_entity_id": config.get("idp_entity_id") or "",
            "sso_url": config.get("sso_url") or "",
            "certificates": [certificate_view(p) for p in pems] if isinstance(pems, list) else [],
            "ca_certificates": stored_cas(config),
            "subject_hint": config.get("subject_hint", True) is not False,
        }
    return {
        "ca_certificates": stored_cas(config),
        "issuer": config.get("issuer") or "",
        "client_id": config.get("client_id") or "",
        "token_endpoint_auth_method": config.get("token_endpoint_auth_method")
        or TOKEN_AUTH_METHODS[0],
        "secret_set": config.get("client_secret_encrypted") is not None,
        "key_set": config.get("client_key") is not None,
    }


def stored_cas(config: Mapping[str, object]) -> list[CertificateView]:
    """The CAs of the stored CA bundle; none if it no longer parses (the use case then says
    why, when the form is saved)."""
    try:
        return [certificate_view(pem) for pem in ConfigReader(config).ca_bundle()]
    except ConfigError:
        return []


def bring_back(connection: Connection) -> tuple[Markup, ...]:
    """What the guide told the admin to bring back from the IdP, to check they have it."""
    strategy = connection.config.get("strategy")
    guide = guide_for(strategy if isinstance(strategy, str) else None, connection.kind)
    return tuple(emphasize(item) for item in guide.bring_back)


def routes(portal: Portal) -> list[BaseRoute]:
    def render(
        request: Request,
        visit: Visit,
        connection: Connection,
        *,
        errors: FormErrors = NO_ERRORS,
        typed: Mapping[str, str] | None = None,
        source: str = "",
        status: int = 200,
    ) -> Response:
        endpoints = endpoints_for(portal.management.deps.issuer, connection.id, connection.kind)
        return portal.render(
            request, "setup_settings.html",
            {"connection": connection, "stored": stored_values(connection),
             "awaiting": awaiting_idp(connection), "typed": typed or {}, "source": source,
             "errors": errors, "methods": AUTH_METHOD_NAMES, "jwks_uri": endpoints.metadata_url,
             "bring_back": bring_back(connection),
             "steps": nav(visit, "settings", connection.id)},
            visit=visit, status=status,
        )  # fmt: skip

    async def show(request: Request, visit: Visit) -> Response:
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        return render(request, visit, connection)

    async def save(request: Request, visit: Visit) -> Response:
        try:
            return await save_form(request, visit)
        finally:
            await request.close()  # an upload's temporary file, refused or not

    async def save_form(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        change: SettingsChange | None = None
        try:
            if connection.kind == "saml":
                change = await read_saml(form, connection.config)
            else:
                change = read_oidc(form, connection.config)
            saved = await run_in_threadpool(
                portal.management.connections.update,
                visit.actor, visit.organization.id, connection.id,
                settings=change.settings, client_secret=change.client_secret,
            )  # fmt: skip
        except InvalidInput as exc:
            log.info("portal settings refused connection=%s: %s", connection.id, exc)
            typed = change.typed if change else _typed(form)
            source = change.source if change else str(form.get("source") or "")
            return render(
                request, visit, connection, errors=form_errors(exc), typed=typed,
                source=source, status=422,
            )  # fmt: skip
        except ResourceConflict as exc:
            errors = FormErrors({FORM: sentence(exc.detail)})
            return render(request, visit, connection, errors=errors, status=409)
        notes = await run_in_threadpool(attention, portal, saved)
        if notes:
            return portal.render(
                request, "setup_saved.html",
                {"connection": saved.connection, "warnings": notes,
                 "steps": nav(visit, "settings", connection.id)},
                visit=visit,
            )  # fmt: skip
        return portal.redirect(f"/setup/{connection.id}/attributes")

    path = "/setup/{connection_id:str}/settings"
    return [
        Route(path, page(portal, show), methods=["GET"]),
        Route(path, page(portal, save), methods=["POST"]),
    ]


def attention(portal: Portal, saved: Saved) -> tuple[str, ...]:
    """What the admin must act on after a save, and only that: the connection's view says
    it (an IdP certificate expired or expiring within the notice period, a setting that
    weakens the connection, what the IdP's discovery document contradicts). A page that
    stops the admin to read "the certificate expires in 2035" teaches them to skip it."""
    return portal.management.connections.describe(saved.connection, saved.warnings).warnings


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    """What the admin typed, when the form was refused before it was read (no secret)."""
    return shown_back(form, (*SAML_TYPED, *OIDC_TYPED))
