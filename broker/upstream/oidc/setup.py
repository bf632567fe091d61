"""Creating an OIDC connection's stored settings, and checking them against the live IdP.

The management use cases call these whatever the door (API, CLI, portal, demo seed): a
`private_key_jwt` key is generated here, and the discovery document is fetched and checked
here, so a connection that cannot work is refused when it is saved, not at someone's first
login (R-05).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx
from joserfc.jwk import RSAKey

from broker.errors import ConfigError
from broker.keys.crypto import SecretBox
from broker.upstream import outbound
from broker.upstream.base import UpstreamError
from broker.upstream.oidc.config import OidcConnectionConfig, key_context
from broker.upstream.oidc.provider_metadata import (
    MAX_DOCUMENT_BYTES,
    ProviderMetadata,
    check_usable,
    discovery_url,
    manual_metadata,
    parse_provider_metadata,
)
from broker.upstream.outbound import OutboundPolicy


@dataclass(frozen=True, slots=True)
class CheckedProvider:
    metadata: ProviderMetadata
    warnings: tuple[str, ...]


def new_client_key(box: SecretBox, connection_id: str) -> dict[str, object]:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    pem = key.as_pem(private=True)
    blob = box.encrypt(pem, context=key_context(connection_id))
    return {
        "private_key_encrypted": base64.b64encode(blob).decode(),
        "public_jwk": key.as_dict(private=False),
    }


def check_provider(
    config: OidcConnectionConfig, http: httpx.Client, *, policy: OutboundPolicy
) -> CheckedProvider:
    """Fetch the IdP's discovery document (unless endpoints are given by hand) and check it
    can serve this connection; ConfigError on the `issuer` field otherwise."""
    if config.endpoints is not None:
        return CheckedProvider(manual_metadata(config.issuer, config.endpoints), ())
    try:
        document = outbound.get(
            http, discovery_url(config.issuer), policy=policy, max_bytes=MAX_DOCUMENT_BYTES
        )
        metadata = parse_provider_metadata(document, issuer=config.issuer)
        check_usable(metadata, algorithms=config.id_token_algorithms)
    except outbound.OutboundError as exc:
        raise ConfigError("issuer", f"cannot read the discovery document: {exc.detail}") from exc
    except UpstreamError as exc:
        raise ConfigError("issuer", exc.detail or exc.recorded_reason) from exc
    warnings = []
    if config.token_endpoint_auth_method not in (
        metadata.token_auth_methods or ("client_secret_basic",)
    ):
        warnings.append(
            f"The IdP does not list {config.token_endpoint_auth_method} among its token "
            f"endpoint authentication methods ({', '.join(metadata.token_auth_methods)})."
        )
    if metadata.code_challenge_methods and "S256" not in metadata.code_challenge_methods:
        warnings.append("The IdP does not advertise PKCE S256; Gatehouse sends it anyway.")
    return CheckedProvider(metadata, tuple(warnings))
