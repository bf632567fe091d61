"""The URLs Gatehouse publishes for one connection.

Every connection has its own: a SAML IdP that serves two customers (one Okta org, two apps)
must not be able to use one customer's assertion at the other's ACS (S-19), so the SP entity
ID and ACS URL are unique per connection. They are derived from the configured issuer and the
connection id only, never from request headers (X-01).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionEndpoints:
    connection_id: str
    #: Where the IdP sends the person back: the SAML ACS URL or the OIDC redirect URI.
    callback_url: str
    #: The SAML SP entity ID. It is also the SP metadata URL, so an IdP admin who pastes it
    #: into a "metadata URL" box gets the right document. Empty for OIDC.
    entity_id: str
    #: What the connection publishes: SAML SP metadata; for OIDC the JWKS of the key
    #: Gatehouse authenticates with (`private_key_jwt`).
    metadata_url: str


def endpoints_for(issuer: str, connection_id: str, kind: str) -> ConnectionEndpoints:
    if kind == "saml":
        base = f"{issuer}/saml/{connection_id}"
        return ConnectionEndpoints(
            connection_id=connection_id,
            callback_url=f"{base}/acs",
            entity_id=f"{base}/metadata",
            metadata_url=f"{base}/metadata",
        )
    if kind == "oidc":
        # RFC 9700 §4.4.2.2 (mix-up): one redirect URI per connection, so an answer from one
        # IdP cannot be delivered as another's.
        base = f"{issuer}/oidc/{connection_id}"
        return ConnectionEndpoints(
            connection_id=connection_id,
            callback_url=f"{base}/callback",
            entity_id="",
            metadata_url=f"{base}/jwks.json",
        )
    return ConnectionEndpoints(
        connection_id=connection_id,
        callback_url=f"{issuer}/callback/{connection_id}",
        entity_id=f"{issuer}/connections/{connection_id}",
        metadata_url="",
    )
