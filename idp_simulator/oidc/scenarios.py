"""Named OIDC behaviours: the smallest departures from a good login that a relying party
must notice.

Like the SAML side's `adjust_spec`, each scenario is a small change to data made before
signing (`adjust_claims`); how the ID token is then signed (`signing_for`) and whether a code
is issued at all (`ACCESS_DENIED`) are the only other variations. The names are the ones typed
in the login form or in an email's local part (`expired@example.com`,
`alice+nonce-mismatch@example.com`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from idp_simulator.user import local_part_names

__all__ = [
    "ACCESS_DENIED_DESCRIPTION",
    "OIDC_DESCRIPTIONS",
    "OTHER_SUFFIX",
    "OidcScenario",
    "Signing",
    "adjust_claims",
    "oidc_scenario_for_email",
    "signing_for",
]

OTHER_SUFFIX = "-other"
EXPIRED_ISSUED_AGO = 2 * 3600
EXPIRED_EXPIRY_AGO = 3600
ACCESS_DENIED_DESCRIPTION = "The user declined to sign in (simulated)."

Signing = Literal["key", "unknown-key", "none"]
"""How the ID token is signed: with the published key, a throwaway one, or not at all."""


class OidcScenario(StrEnum):
    """The OIDC scenario names (a separate list from SAML's: the failures differ)."""

    SUCCESS = "success"
    WRONG_ISSUER = "wrong-issuer"
    WRONG_AUDIENCE = "wrong-audience"
    EXPIRED = "expired"
    NONCE_MISMATCH = "nonce-mismatch"
    UNKNOWN_KEY = "unknown-key"
    ALG_NONE = "alg-none"
    MISSING_EMAIL = "missing-email"
    EMAIL_UNVERIFIED = "email-unverified"
    ACCESS_DENIED = "access-denied"
    REPLAY = "replay"


_NAMES = frozenset(scenario.value for scenario in OidcScenario)

OIDC_DESCRIPTIONS: Mapping[OidcScenario, str] = {
    OidcScenario.SUCCESS: "A valid, signed ID token: the login should succeed.",
    OidcScenario.WRONG_ISSUER: "The ID token's iss is the issuer + -other.",
    OidcScenario.WRONG_AUDIENCE: "The ID token's aud is the client id + -other.",
    OidcScenario.EXPIRED: "iat and auth_time two hours ago, exp an hour ago.",
    OidcScenario.NONCE_MISMATCH: "The ID token carries a random nonce, not the request's.",
    OidcScenario.UNKNOWN_KEY: "Signed by a throwaway RSA key whose kid is not in the JWKS.",
    OidcScenario.ALG_NONE: 'Header {"alg": "none"} and an empty signature.',
    OidcScenario.MISSING_EMAIL: "No email or email_verified claim (ID token and userinfo).",
    OidcScenario.EMAIL_UNVERIFIED: "email_verified is false.",
    OidcScenario.ACCESS_DENIED: "No code: the redirect carries error=access_denied.",
    OidcScenario.REPLAY: "A normal success; then open /oidc/replay to repeat the callback.",
}


def oidc_scenario_for_email(email: str) -> OidcScenario | None:
    """The scenario an email names: `expired@example.com` or `alice+expired@example.com`."""
    for candidate in local_part_names(email):
        if candidate in _NAMES:
            return OidcScenario(candidate)
    return None


def adjust_claims(scenario: OidcScenario | str, claims: Mapping[str, Any]) -> dict[str, Any]:
    """The ID token claims for `scenario`, from the good ones; times move relative to
    `claims["iat"]` ("now"). The input is not changed.

    A plain string is accepted and checked (`ValueError` for an unknown name), as in the SAML
    `adjust_spec`: comparing a string to the members by identity would fall through to success.
    """
    scenario = OidcScenario(scenario)
    adjusted = dict(claims)
    if scenario is OidcScenario.WRONG_ISSUER:
        adjusted["iss"] = f"{claims['iss']}{OTHER_SUFFIX}"
    elif scenario is OidcScenario.WRONG_AUDIENCE:
        adjusted["aud"] = f"{claims['aud']}{OTHER_SUFFIX}"
    elif scenario is OidcScenario.EXPIRED:
        now = int(claims["iat"])
        adjusted["iat"] = adjusted["auth_time"] = now - EXPIRED_ISSUED_AGO
        adjusted["exp"] = now - EXPIRED_EXPIRY_AGO
    elif scenario is OidcScenario.NONCE_MISMATCH:
        # Present even when the request sent none: an RP that sent no nonce must not be
        # handed one it never chose, and one that did must see it differ.
        adjusted["nonce"] = secrets.token_urlsafe(16)
    elif scenario is OidcScenario.MISSING_EMAIL:
        adjusted.pop("email", None)
        adjusted.pop("email_verified", None)
    elif scenario is OidcScenario.EMAIL_UNVERIFIED:
        adjusted["email_verified"] = False
    return adjusted


def signing_for(scenario: OidcScenario | str) -> Signing:
    """The ID token's signing for `scenario`."""
    scenario = OidcScenario(scenario)
    if scenario is OidcScenario.UNKNOWN_KEY:
        return "unknown-key"
    if scenario is OidcScenario.ALG_NONE:
        return "none"
    return "key"
