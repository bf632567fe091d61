"""The SAML simulator's scenarios and what every tier expects of each (the row types and the
tiers that read them: `tests/support/scenarios.py`).

Placeholders in a diagnosis's texts, filled by the portal tier from its connection and keys:
`{email}`, `{sp_entity_id}`, `{acs_url}`, `{trusted_fingerprint}`, `{attacker_fingerprint}`.
"""

from __future__ import annotations

from idp_simulator.saml.scenarios import Scenario
from tests.support.scenarios import EXPIRED, VERIFY, Diagnosis, Refusal, Replay, Row, table

SP = "{sp_entity_id}"
ACS = "{acs_url}"
#: The simulator's entity ID, as the portal tier's simulator publishes it.
IDP = "https://idp.example.test/metadata"
#: On a portal result page, the start of the decoded answer: shown only once it verified.
EVIDENCE = "&lt;samlp:Response"

SAML = table(
    Row(
        Scenario.SUCCESS,
        None,
        Diagnosis(
            "The test login worked",
            evidence=True,
            shows=("✓ Sent", "{email}", "&lt;saml:Assertion"),
            absent=("✗",),
            sent=2,  # email and given name, the connection's required attributes
        ),
        # Over real HTTP: the auto-post form, cookies across three origins, and an
        # independent RP that redeems the code and verifies the ID token itself.
        wire=True,
    ),
    Row(
        Scenario.EXPIRED,
        Refusal("expired", VERIFY, 400),
        Diagnosis(
            "The response had expired when it arrived",
            evidence=True,
            shows=("Conditions NotOnOrAfter", "-3600 s", "-7200 s", "2 hours behind"),
        ),
    ),
    Row(
        Scenario.NOT_YET_VALID,
        Refusal("not_yet_valid", VERIFY, 400),
        Diagnosis(
            "The response is not valid yet: the clocks disagree",
            evidence=True,
            shows=("Conditions NotBefore", "+3600 s", "1 hour ahead of"),
        ),
    ),
    Row(
        Scenario.WRONG_AUDIENCE,
        Refusal("wrong_audience", VERIFY, 400),
        Diagnosis(
            "The response is meant for another application (wrong audience)",
            evidence=True,
            shows=(
                SP,
                SP + "-other",
                "Audience URI (SP Entity ID)",
                "metadata-other&lt;/saml:Audience&gt;",  # in the decoded answer
            ),
        ),
    ),
    Row(
        Scenario.WRONG_DESTINATION,
        Refusal("wrong_destination", VERIFY, 400),
        Diagnosis(
            "The response was sent for another address (wrong destination)",
            evidence=True,
            shows=(ACS, ACS + "-other", "Single sign-on URL"),
        ),
    ),
    Row(
        Scenario.WRONG_ISSUER,
        Refusal("wrong_issuer", VERIFY, 400),
        Diagnosis(
            "The response comes from an unexpected issuer",
            # Refused by the issuer check, which follows the signatures' within
            # `authenticate`: the answer is shown.
            evidence=True,
            shows=(IDP, IDP + "-other", "Metadata URL", "&lt;saml:Issuer"),
        ),
    ),
    Row(
        Scenario.UNSIGNED,
        Refusal("unsigned", VERIFY, 400),
        Diagnosis(
            "The response is not signed",
            evidence=False,
            shows=("Response signed", "Assertion Signature"),
        ),
    ),
    Row(
        Scenario.WRONG_KEY,
        Refusal("signature_invalid", VERIFY, 400),
        Diagnosis(
            "Signed with a certificate Gatehouse does not trust",
            evidence=False,
            shows=("{trusted_fingerprint}", "{attacker_fingerprint}", "SAML Signing Certificates"),
        ),
        # Over real HTTP, the 400 page: an auto-posted answer that fails a check.
        wire=True,
    ),
    Row(
        Scenario.IN_RESPONSE_TO_MISMATCH,
        Refusal("in_response_to_mismatch", VERIFY, 400),
        Diagnosis(
            "The response answers another login request", evidence=True, shows=("InResponseTo",)
        ),
    ),
    Row(
        Scenario.SIGNATURE_WRAPPING,
        Refusal("wrong_number_of_assertions", VERIFY, 400),
        Diagnosis("The response carries more than one assertion", evidence=False),
    ),
    Row(
        Scenario.NAMEID_COMMENT,
        # S-14: `alice@example.com<!---->.evil.test` is the identity, whole, and the domain
        # rule refuses it; a parser that dropped the text after the comment would log Alice in.
        Refusal(
            "email_domain_not_verified",
            "cannot be used here",
            403,
            detail="example.com.evil.test",
        ),
        Diagnosis(
            "The email address is outside your verified domains",
            evidence=True,
            shows=("example.com.evil.test", "one of: example.com"),
        ),
    ),
    Row(
        Scenario.STATUS_RESPONDER,
        Refusal("idp_refused:Responder", "did not sign you in", 403),
        Diagnosis(
            "Your identity provider reported an error",
            evidence=False,  # no assertion
            shows=(
                "Responder",
                "The identity provider could not answer (simulated).",
                "System Log",
            ),
        ),
        # Over real HTTP, the 403 page: the IdP said no.
        wire=True,
    ),
    Row(
        Scenario.STATUS_AUTHN_FAILED,
        Refusal("idp_refused:Responder / AuthnFailed", "AuthnFailed", 403),
        Diagnosis(
            "Your identity provider could not sign the user in",
            evidence=False,  # no assertion
            shows=("Responder / AuthnFailed", "Assignments"),
        ),
    ),
    Row(
        Scenario.MISSING_EMAIL,
        Refusal("missing_attributes", "Missing: email", 403),
        Diagnosis(
            "Required attributes are missing: email",
            evidence=True,
            shows=("✗ Missing", "Attribute Statements", "firstName, groups, lastName"),
        ),
    ),
    Row(
        Scenario.SHA1_SIGNATURE,
        Refusal("weak_algorithm", VERIFY, 400),
        Diagnosis(
            "The response is signed with SHA-1", evidence=False, shows=("rsa-sha1", "RSA-SHA256")
        ),
    ),
    Row(
        Scenario.REPLAY,
        None,  # the first arrival is a normal success
        Diagnosis("This response was already used", evidence=True, shows=("Assertion ID",)),
        replay=Replay(Refusal("flow_expired", EXPIRED, 400), new_flow="replayed"),
    ),
)
