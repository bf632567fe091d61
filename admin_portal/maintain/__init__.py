"""Maintaining a connection people already sign in through (an edit link's pages).

Every change is saved as a draft beside the active settings, which logins keep using; the
admin tests the draft in a new tab (trial_logins.py, `draft=1`), then switches over, which the
use case allows only after a passed test of exactly the draft
(broker.management.connection_drafts).

    GET  /connections/{id}                 overview: IdP, certificates and their expiry,
                                           values for the IdP admin, recent sign-ins,
                                           the pending change and its latest test
    POST /connections/{id}/switch-over     the draft becomes the active settings
    POST /connections/{id}/discard         the draft is dropped
    GET  /connections/{id}/certificates    SAML: trusted certificates, add one, remove one
    POST /connections/{id}/certificates    action=add (file or pasted), fetch (metadata
                                           URL), remove (fingerprint): saves a draft
    GET  /connections/{id}/secret          OIDC: a new client secret (write-only)
    POST /connections/{id}/secret

Every page reads the connection through `Portal.connection` (this organization's, and an
edit link's own only: T-04), every form passes `Portal.form` (T-08) first, and a page that
does not apply to the connection's protocol is "not found" like any other.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from admin_portal.maintain import certificates_page, overview_page, secret_page
from admin_portal.page_context import Portal

_ID = "/connections/{connection_id:str}"


def routes(portal: Portal) -> list[BaseRoute]:
    overview = overview_page.Pages(portal)
    certificates = certificates_page.Pages(portal)
    secret = secret_page.Pages(portal)
    return [
        Route(_ID, portal.with_visit(overview.show), methods=["GET"]),
        Route(f"{_ID}/switch-over", portal.with_visit(overview.switch_over), methods=["POST"]),
        Route(f"{_ID}/discard", portal.with_visit(overview.discard), methods=["POST"]),
        Route(f"{_ID}/certificates", portal.with_visit(certificates.show), methods=["GET"]),
        Route(f"{_ID}/certificates", portal.with_visit(certificates.submit), methods=["POST"]),
        Route(f"{_ID}/secret", portal.with_visit(secret.show), methods=["GET"]),
        Route(f"{_ID}/secret", portal.with_visit(secret.submit), methods=["POST"]),
    ]
