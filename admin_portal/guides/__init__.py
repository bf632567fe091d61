"""The vendor guides: how to create the application in each IdP's own console, as data.

    model.py   Guide and Step: what a guide is
    saml.py    one SAML guide per product (Okta, Entra ID, Google Workspace, ADFS...)
    oidc.py    one OpenID Connect guide per product
    values.py  a connection's values to paste, and the attributes to send
    render.py  guide text to HTML (escaped, then **labels** and `values`)

Every strategy of `broker.model.vendors.STRATEGIES` has a guide for each protocol its
tile offers (`connection_setup.protocols`), which a test holds to.
"""

from __future__ import annotations

from admin_portal.guides.model import Guide, Step
from admin_portal.guides.oidc import OIDC_GUIDES
from admin_portal.guides.saml import SAML_GUIDES

GUIDES = {"saml": SAML_GUIDES, "oidc": OIDC_GUIDES}
_GENERIC = {"saml": "generic-saml", "oidc": "generic-oidc"}


def guide_for(strategy: str | None, protocol: str) -> Guide:
    """A connection set up without a tile (through the API) gets the generic guide."""
    guides = GUIDES[protocol]
    return guides.get(strategy or "", guides[_GENERIC[protocol]])


__all__ = ["GUIDES", "Guide", "Step", "guide_for"]
