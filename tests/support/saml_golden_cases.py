"""The three verbs every golden attack case is written in: respond, accepted, refused.

The attack tests are spread over several modules by section of docs/security.md; they share these so
that "the unattacked response is accepted under exactly this configuration" and "the attacked
one is refused with exactly this reason" mean the same thing in every one of them.
"""

from __future__ import annotations

from typing import Any

from broker.upstream.base import UpstreamInvalid
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    ALICE,
    Encryption,
    GoldenConnection,
    Mutator,
    encode,
    golden_response,
    golden_spec,
    serialize,
)

#: Options under which a response signed only at the Response level is acceptable.
RAS_OFF = {"require_assertion_signature": False}
#: Generous: a refusal before any crypto takes about a millisecond.
FAST = 1.0


def respond(
    connection: GoldenConnection,
    keys: IdpKeys,
    *,
    sign: Any = "both",
    mutate: Mutator | None = None,
    before: Mutator | None = None,
    encrypt: bool = False,
    algorithm: Any = "rsa-sha256",
    **spec_changes: Any,
) -> bytes:
    """A golden response for `connection`, optionally attacked after signing, as bytes."""
    root = golden_response(
        golden_spec(connection, **spec_changes),
        keys,
        sign=sign,
        before_signing=before,
        algorithm=algorithm,
        encrypt=Encryption(connection.encryption_certificate) if encrypt else None,
    )
    if mutate is not None:
        mutate(root)
    return serialize(root)


def accepted(connection: GoldenConnection, data: bytes, **options: Any) -> Any:
    identity = connection.open(**options).login(encode(data))
    assert identity.subject == ALICE
    assert identity.email == ALICE
    return identity


def refused(connection: GoldenConnection, data: bytes | str, **options: Any) -> UpstreamInvalid:
    saml_response = data if isinstance(data, str) else encode(data)
    return connection.open(**options).refusal(saml_response)
