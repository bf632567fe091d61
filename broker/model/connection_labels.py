"""What a person reads for a connection: its identity provider, not a protocol's generic name.

A connection begun from a portal tile is named after the tile ("Okta (SAML)"), but the generic
tiles' names say only the protocol ("SAML identity provider"), and the portal's "Single
sign-on is on, through SAML identity provider." tells an IT admin nothing they can recognise.
So a page shows a connection's *label*:

1. a name someone chose (through the API, the CLI, or a rename) is theirs, shown as it is;
2. a product of the catalogue is named with its protocol: "Okta (SAML)";
3. a generic connection is named after the host of its IdP (the SAML SSO URL or entity ID,
   the OIDC issuer): "idp.acme.com (SAML)"; before the IdP's values arrive, the protocol's
   generic name is all there is.

The connection's stored name is never changed by this: the management API and the events
keep saying what was stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from broker.model.records import Connection
from broker.model.vendors import CATALOGUE, product

PROTOCOLS = {"saml": "SAML", "oidc": "OIDC"}

#: The names Gatehouse gives a connection when nobody chose one (`ConnectionSetup.begin`:
#: the tile's name, with the protocol for a product; `Connections.create_*`: the protocol
#: and the IdP's entity ID or issuer, which rule 3 words better).
_GIVEN_PREFIXES = ("SAML: ", "OIDC: ")
_GIVEN = frozenset(
    [p.name for p in CATALOGUE]
    + [f"{p.name} ({protocol})" for p in CATALOGUE for protocol in PROTOCOLS.values()]
)

#: Where a generic connection's IdP lives, per protocol, in order of preference.
_IDP_URLS = {"saml": ("sso_url", "idp_entity_id"), "oidc": ("issuer",)}


def connection_label(connection: Connection) -> str:
    name = connection.name.strip()
    if name and name not in _GIVEN and not name.startswith(_GIVEN_PREFIXES):
        return name
    protocol = PROTOCOLS.get(connection.kind, connection.kind.upper())
    strategy = connection.config.get("strategy")
    found = product(strategy if isinstance(strategy, str) else None)
    if found is not None and not found.generic:
        return f"{found.name} ({protocol})"
    host = idp_host(connection.kind, connection.config)
    if host is not None:
        return f"{host} ({protocol})"
    return found.name if found is not None else f"{protocol} identity provider"


def idp_host(kind: str, config: Mapping[str, object]) -> str | None:
    """The host name of the IdP's first URL in `config`; None before there is one (an
    entity ID that is a URN names no host)."""
    for field in _IDP_URLS.get(kind, ()):
        value = config.get(field)
        if not isinstance(value, str):
            continue
        try:
            host = urlsplit(value).hostname
        except ValueError:
            continue
        if host:
            return host
    return None
