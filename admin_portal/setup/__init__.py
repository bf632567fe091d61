"""The setup assistant: a customer's IT admin sets up a new SSO connection, step by step.

    GET  /setup                          choose the IdP (tiles the profile allows)
    POST /setup/begin                    begin the connection; 303 to its guide
    GET  /setup/{id}/guide               create the app at the IdP (guides/)
    GET  /setup/{id}/settings            the IdP's values: SAML metadata or values, OIDC client
    POST /setup/{id}/settings            save (Connections.update); 303 to attributes
    GET  /setup/{id}/attributes          attribute names per claim, required claims
    POST /setup/{id}/attributes          save; 303 to test
    GET  /setup/{id}/test                start a test login (POST /connections/{id}/test)
    GET  /setup/{id}/activate            what activation still needs
    POST /setup/{id}/activate            turn on (ConnectionSetup.activate_tested)
    GET  /setup/{id}/done                on: who signs in through it now
    (the domains step is admin_portal/domains.py: GET/POST /domains)

Every page needs the link's `sso` feature and reads its connection through
`Portal.connection` (T-04); a connection that is already on redirects to its overview.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from admin_portal.page_context import Portal
from admin_portal.setup import activate, attributes, choose, configure, guide, trial_step


def routes(portal: Portal) -> list[BaseRoute]:
    return [
        *choose.routes(portal),
        *guide.routes(portal),
        *configure.routes(portal),
        *attributes.routes(portal),
        *trial_step.routes(portal),
        *activate.routes(portal),
    ]
