"""The OpenID Provider metadata document (OIDC Discovery 1.0 §3, RFC 8414).

Every value here is a promise the rest of `broker.oidc` keeps; tests read this document
and hold the endpoints to it.
"""

from __future__ import annotations

from typing import Any

from broker.model.claims import (
    DIRECTORY_CLAIMS,
    EMAIL_CLAIMS,
    ORGANIZATION_CLAIMS,
    PROFILE_CLAIMS,
)
from broker.oidc.authorize import SUPPORTED_SCOPES

TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_post", "client_secret_basic", "none")
ID_TOKEN_ALG = "RS256"  # noqa: S105 - an algorithm name, not a secret


def build_discovery_document(issuer: str) -> dict[str, Any]:
    """`issuer` is used verbatim: it must equal every token's `iss` byte for byte (§4.3)."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "scopes_supported": list(SUPPORTED_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            *EMAIL_CLAIMS,
            *PROFILE_CLAIMS,
            *ORGANIZATION_CLAIMS,
            *DIRECTORY_CLAIMS,
        ],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        # RFC 9207: every authorization response, errors included, carries `iss`.
        "authorization_response_iss_parameter_supported": True,
    }
