"""Signing secrets and signatures, per the Standard Webhooks specification
(https://www.standardwebhooks.com, "Signature scheme"), with its reference library.

A secret is `whsec_` + base64 of 32 random bytes (the spec's recommended size and
format). Each message is signed with HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.
{body}`; `webhook-signature` carries one `v1,<base64>` per live secret, space-separated,
so during a rotation's overlap a receiver that still holds the previous secret verifies
too, and one that has the new secret already does.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from broker.keys.crypto import SecretBox

PREFIX = "whsec_"
_SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def secret_context(endpoint_id: str, which: str = "current") -> str:
    """Where a secret lives, authenticated with its ciphertext (`SecretBox`)."""
    return f"webhook_endpoint:{endpoint_id}:{which}"


def seal(box: SecretBox, endpoint_id: str, secret: str, which: str = "current") -> bytes:
    return box.encrypt(secret.encode("ascii"), context=secret_context(endpoint_id, which))


def unseal(box: SecretBox, endpoint_id: str, blob: bytes, which: str = "current") -> str:
    return box.decrypt(blob, context=secret_context(endpoint_id, which)).decode("ascii")


def headers(
    secrets_: Sequence[str], *, message_id: str, timestamp: datetime, body: bytes
) -> dict[str, str]:
    """The three headers of one attempt; one signature per secret, current first."""
    signatures = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
