"""The one catalogue of identity products a customer may connect: the portal's tiles.

Everything that varies by product reads it from here: the tiles and their protocols, a new
connection's default name, the SAML attribute profile and OIDC quirks a product starts with,
whether its servers (and so its clock) are the customer's own. The words of each product's
console (guides, diagnosis fixes) are content, kept beside the pages that show them and keyed
by the same `strategy`; a test holds every such table to this catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """One tile: an identity product, or the generic protocol for any other."""

    strategy: str
    name: str
    saml: bool
    oidc: bool
    #: The SAML attribute names it sends by default (`broker/upstream/saml/attributes.py`).
    saml_profile: str = "generic"
    #: The OIDC quirks the connector handles for it (`broker/upstream/oidc/vendors.py`).
    oidc_vendor: str = "generic"
    #: The customer runs its servers, so a clock difference is theirs to fix.
    self_hosted: bool = False

    @property
    def generic(self) -> bool:
        return self.strategy.startswith("generic-")


#: In the portal's tile order. ADFS speaks only SAML (its OIDC is a different product);
#: the generic tiles one protocol each.
CATALOGUE: tuple[Product, ...] = (
    Product(strategy="okta", name="Okta", saml=True, oidc=True, saml_profile="okta",
            oidc_vendor="okta"),
    Product(strategy="entra", name="Microsoft Entra ID", saml=True, oidc=True,
            saml_profile="entra", oidc_vendor="entra"),
    Product(strategy="google", name="Google Workspace", saml=True, oidc=True,
            saml_profile="google", oidc_vendor="google"),
    Product(strategy="adfs", name="ADFS", saml=True, oidc=False, saml_profile="adfs",
            self_hosted=True),
    Product(strategy="onelogin", name="OneLogin", saml=True, oidc=True),
    Product(strategy="jumpcloud", name="JumpCloud", saml=True, oidc=True),
    Product(strategy="ping", name="PingOne / PingFederate", saml=True, oidc=True,
            self_hosted=True),
    Product(strategy="keycloak", name="Keycloak", saml=True, oidc=True, self_hosted=True),
    Product(strategy="generic-saml", name="SAML identity provider", saml=True, oidc=False),
    Product(strategy="generic-oidc", name="OpenID Connect provider", saml=False, oidc=True),
)  # fmt: skip

PRODUCTS: Mapping[str, Product] = {product.strategy: product for product in CATALOGUE}

#: The strategies, in tile order; those offering each protocol.
STRATEGIES = tuple(PRODUCTS)
SAML_STRATEGIES = tuple(p.strategy for p in CATALOGUE if p.saml)
OIDC_STRATEGIES = tuple(p.strategy for p in CATALOGUE if p.oidc)


def product(strategy: str | None) -> Product | None:
    return PRODUCTS.get(strategy or "")


def product_name(strategy: str | None) -> str | None:
    """The product's own name; None for the generic tiles and unknown strategies (a sentence
    then names the protocol instead)."""
    found = product(strategy)
    return found.name if found is not None and not found.generic else None
