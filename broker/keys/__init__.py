"""Signing keys and secrets at rest.

A signing key moves through three states, stored in `KeyRepo` so every process agrees::

    (created) --> NEXT --rotate--> CURRENT --rotate--> RETIRED --retire_after--> (deleted)
                  published        published,          published
                  not signing      signing             not signing

Why a NEXT state: relying parties cache our JWKS (RFC 7517 §5) and look keys up by `kid`
(the RFC 7638 thumbprint). A key that starts signing the moment it is created fails
verification wherever a cached JWKS predates it; a key published as NEXT for at least one
rotation period is already in every cache when it is promoted. Why RETIRED: tokens signed
just before a rotation are still in flight, so the old key stays published until
`retire_after` (the longest token lifetime plus clock skew) has passed. Together, rotating
never breaks a login in flight.

Private keys are stored encrypted by `SecretBox` under a key derived from
`GATEHOUSE_SECRET_KEY`, never in the clear.
"""

from broker.keys.crypto import KeyDecryptionError, SecretBox
from broker.keys.manager import KeyInfo, KeyManager, NoSigningKeyError, SigningKey

__all__ = [
    "KeyDecryptionError",
    "KeyInfo",
    "KeyManager",
    "NoSigningKeyError",
    "SecretBox",
    "SigningKey",
]
