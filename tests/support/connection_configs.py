"""Stored connection settings built directly, without the management use cases: for tests
that open a connector on settings of their own (golden SAML files, a mock OP)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from broker.keys.crypto import SecretBox
from broker.upstream.oidc.config import OidcConnectionConfig, encrypt_client_secret
from broker.upstream.oidc.setup import new_client_key
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.saml.setup import new_sp_key_pair
from broker.upstream.urls import ConnectionEndpoints


def new_saml_config(
    idp: IdpMetadata,
    *,
    box: SecretBox,
    endpoints: ConnectionEndpoints,
    now: datetime,
    options: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The stored config for a new connection; `options` may set any other field
    (attribute_profile, allow_sha1, ...). Parsed before it is returned, so it is valid."""
    cid = endpoints.connection_id
    raw: dict[str, object] = {
        **(options or {}),
        "idp_entity_id": idp.entity_id,
        "sso_url": idp.sso_url,
        "sso_binding": idp.sso_binding,
        "idp_certificates": list(idp.certificates),
        "sp_signing": new_sp_key_pair(
            box, cid, "signing", common_name=f"Gatehouse SP {cid} signing", now=now
        ),
        "sp_encryption": new_sp_key_pair(
            box, cid, "encryption", common_name=f"Gatehouse SP {cid} encryption", now=now
        ),
    }
    return SamlConnectionConfig.parse(raw).to_json()


def new_oidc_config(
    options: Mapping[str, object],
    *,
    box: SecretBox,
    connection_id: str,
    client_secret: str | None,
) -> dict[str, object]:
    """The stored config for a new connection from `options` (issuer, client_id, vendor,
    scopes...). Parsed before it is returned, so it is valid."""
    raw: dict[str, object] = {
        k: v for k, v in options.items() if k not in ("client_secret_encrypted", "client_key")
    }
    method = raw.get("token_endpoint_auth_method", "client_secret_basic")
    if method == "private_key_jwt":
        raw["client_key"] = new_client_key(box, connection_id)
    elif client_secret:
        raw["client_secret_encrypted"] = encrypt_client_secret(box, connection_id, client_secret)
    return OidcConnectionConfig.parse(raw).to_json()
