"""The SP key pairs Gatehouse makes itself for each SAML connection (signing, encryption).

The management use cases call this whatever the door (API, CLI, portal, demo seed), so every
connection's keys are made the same way and stored encrypted, bound to the connection.
"""

from __future__ import annotations

import base64
from datetime import datetime

from broker.keys.crypto import (
    SecretBox,
    certificate_to_pem,
    generate_rsa_private_key,
    generate_self_signed_certificate,
    private_key_to_pem,
)
from broker.upstream.saml.sp import key_context

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
