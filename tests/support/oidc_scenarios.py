"""The OIDC simulator's scenarios and what every tier expects of each (the row types and the
tiers that read them: `tests/support/scenarios.py`).

Placeholders in a diagnosis's texts, filled by the portal tier: `{email}`, `{op_issuer}` (the
simulator's issuer) and `{op_client_id}` (Gatehouse's client id there).
"""

from __future__ import annotations

from idp_simulator.oidc.scenarios import OidcScenario
from tests.support.scenarios import EXPIRED, VERIFY, Diagnosis, Refusal, Replay, Row, table

#: On a portal result page, the ID token Gatehouse received: shown only once it verified.
EVIDENCE = "The ID token's claims"

OIDC = table(
    Row(
        OidcScenario.SUCCESS,
        None,
        Diagnosis(
            "The test login worked",
            evidence=True,
            shows=("✓ Sent", "{email}", "The ID token"),
            absent=("✗",),
            sent=2,  # email and given name, the connection's required claims
        ),
        # Over real HTTP: redirects across three origins, Gatehouse redeeming the code at the
        # simulator through its own guarded outbound client on real sockets, and an
        # independent RP that redeems Gatehouse's code and verifies the ID token itself.
        wire=True,
    ),
    Row(
        OidcScenario.WRONG_ISSUER,
        Refusal("wrong_issuer", VERIFY, 400),
        Diagnosis(
            "The answer comes from an unexpected issuer",
            evidence=True,
            shows=("{op_issuer}", "{op_issuer}-other"),
        ),
    ),
    Row(
        OidcScenario.WRONG_AUDIENCE,
        Refusal("wrong_audience", VERIFY, 400),
        Diagnosis(
            "The ID token was issued to another application (wrong client ID)",
            evidence=True,
            shows=("{op_client_id}", "{op_client_id}-other", "Client Credentials"),
        ),
    ),
    Row(
        OidcScenario.EXPIRED,
        Refusal("expired", VERIFY, 400),
        Diagnosis(
            "The ID token had expired when it arrived",
            evidence=True,
            shows=("exp", "-3600 s", "-7200 s"),
        ),
    ),
    Row(
        OidcScenario.NONCE_MISMATCH,
        Refusal("nonce_mismatch", VERIFY, 400),
        Diagnosis(
            "The ID token answers another login (nonce)",
            evidence=True,
            shows=("yes, a different one",),
        ),
    ),
    Row(
        OidcScenario.UNKNOWN_KEY,
        Refusal("unknown_key", VERIFY, 400),
        Diagnosis(
            "The ID token is signed with a key your identity provider does not publish",
            evidence=False,
            shows=("Key id (kid)", "/oidc/jwks"),
        ),
        # Over real HTTP, the 400 page: the code redeemed and the JWKS fetched on real
        # sockets, and the ID token refused.
        wire=True,
    ),
    Row(
        OidcScenario.ALG_NONE,
        Refusal("algorithm_not_allowed", VERIFY, 400),
        Diagnosis("The ID token is not signed", evidence=False, shows=("none", "RS256")),
    ),
    Row(
        OidcScenario.MISSING_EMAIL,
        Refusal("missing_attributes", "Missing: email", 403),
        Diagnosis(
            "Required claims are missing: email", evidence=True, shows=("✗ Missing", "email")
        ),
    ),
    Row(
        OidcScenario.EMAIL_UNVERIFIED,
        Refusal("email_not_verified", "not verified", 403),
        Diagnosis(
            "Your identity provider says the email address is not verified",
            evidence=True,
            shows=("email_verified", "false"),
        ),
    ),
    Row(
        OidcScenario.ACCESS_DENIED,
        Refusal("idp_refused:access_denied", "did not sign you in", 403),
        Diagnosis(
            "The user was not let in (access_denied)",
            evidence=False,  # no code, so no ID token
            shows=(
                "error=access_denied",
                "The user declined to sign in (simulated).",
                "Assignments",
            ),
        ),
        # Over real HTTP, the 403 page: the IdP's error on the redirect, and its own
        # error_description kept off the page.
        wire=True,
    ),
    Row(
        OidcScenario.REPLAY,
        None,  # the first arrival is a normal success
        Diagnosis(
            "Your identity provider refused the login's code (invalid_grant)",
            evidence=False,  # the token endpoint refused: no ID token
            shows=("invalid_grant", "already used"),
        ),
        replay=Replay(Refusal("flow_expired", EXPIRED, 400), new_flow="token_error"),
    ),
)
