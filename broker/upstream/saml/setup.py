"""Creating a SAML connection's stored settings, with SP keys Gatehouse makes itself.

Used by the CLI, the demo seed, and later the management API and the portal: one function,
so every path generates keys the same way and stores them encrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime

from broker.keys.crypto import (
    SecretBox,
    certificate_to_pem,
    generate_rsa_private_key,
    generate_self_signed_certificate,
    private_key_to_pem,
)
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.saml.sp import key_context
from broker.upstream.urls import ConnectionEndpoints

#: SP certificates are pinned by the IdP, not chain-validated; ten years spares customers a
#: rollover that buys no security (the key is what matters, and it can be rotated anyway).
SP_CERT_VALID_DAYS = 3650


def new_sp_key_pair(
    box: SecretBox, connection_id: str, purpose: str, *, common_name: str, now: datetime
) -> dict[str, str]:
    key = generate_rsa_private_key()
    certificate = generate_self_signed_certificate(
        key, common_name, valid_days=SP_CERT_VALID_DAYS, now=now
    )
    blob = box.encrypt(private_key_to_pem(key), context=key_context(connection_id, purpose))
    return {
        "private_key_encrypted": base64.b64encode(blob).decode(),
        "certificate_pem": certificate_to_pem(certificate).decode(),
    }


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
