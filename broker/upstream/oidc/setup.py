"""Creating an OIDC connection's stored settings, and checking them against the live IdP.

One path for the CLI, the demo seed, and later the management API and the portal: the client
secret is encrypted here (bound to the connection), a `private_key_jwt` key is generated
here, and the discovery document is fetched and checked here, so a connection that cannot
work is refused when it is saved, not at someone's first login (R-05).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from joserfc.jwk import RSAKey

from broker.errors import ConfigError
from broker.keys.crypto import SecretBox
from broker.upstream import outbound
from broker.upstream.base import UpstreamError
from broker.upstream.oidc.config import OidcConnectionConfig, encrypt_client_secret, key_context
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
        raise ConfigError("issuer", exc.detail or exc.reason) from exc
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
