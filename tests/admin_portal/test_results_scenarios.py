"""Every simulator scenario, SAML and OIDC, through a real portal test login, end to end:
portal session -> POST /portal/connections/{id}/test -> the simulator (scenario chosen on
its login form) -> Gatehouse's ACS or redirect URI -> GET /portal/tests/{id}; the page must
show the right diagnosis for that scenario.

The parameter lists are held to the simulator's own scenario lists: a scenario added there
without a diagnosis here fails `test_every_simulator_scenario_is_covered`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.store import Store
from broker.upstream.saml.xmlsig import certificate_fingerprint
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.oidc.scenarios import OidcScenario
from idp_simulator.saml.scenarios import Scenario
from tests.support.config import ISSUER
from tests.support.oidc_world import OP_CLIENT_ID, OP_ISSUER
from tests.support.portal_idp_world import EMAIL, PortalIdpWorld, build_portal_idp_world


@dataclass(frozen=True)
class Expect:
    """What the result page says for a scenario: the stored reason, the diagnosis title,
    and texts that must be on the page (expected-vs-actual values, the vendor's fix)."""

    reason: str | None
    title: str
    shows: tuple[str, ...] = ()


SP = "{sp_entity_id}"
ACS = "{acs_url}"
IDP = "https://idp.example.test/metadata"

SAML: dict[str, Expect] = {
    "success": Expect(None, "The test login worked", ("✓ Sent", EMAIL, "&lt;saml:Assertion")),
    "expired": Expect(
        "expired",
        "The response had expired when it arrived",
        ("Conditions NotOnOrAfter", "-3600 s", "-7200 s", "2 hours behind"),
    ),
    "not-yet-valid": Expect(
        "not_yet_valid",
        "The response is not valid yet: the clocks disagree",
        ("Conditions NotBefore", "+3600 s", "1 hour ahead of"),
    ),
    "wrong-audience": Expect(
        "wrong_audience",
        "The response is meant for another application (wrong audience)",
        (SP, SP + "-other", "Audience URI (SP Entity ID)"),
    ),
    "wrong-destination": Expect(
        "wrong_destination",
        "The response was sent for another address (wrong destination)",
        (ACS, ACS + "-other", "Single sign-on URL"),
    ),
    "wrong-issuer": Expect(
        "wrong_issuer",
        "The response comes from an unexpected issuer",
        (IDP, IDP + "-other", "Metadata URL"),
    ),
    "unsigned": Expect(
        "unsigned", "The response is not signed", ("Response signed", "Assertion Signature")
    ),
    "wrong-key": Expect(
        "signature_invalid",
        "Signed with a certificate Gatehouse does not trust",
        ("{trusted_fingerprint}", "{attacker_fingerprint}", "SAML Signing Certificates"),
    ),
    "in-response-to-mismatch": Expect(
        "in_response_to_mismatch", "The response answers another login request", ("InResponseTo",)
    ),
    "signature-wrapping": Expect(
        "wrong_number_of_assertions", "The response carries more than one assertion"
    ),
    "nameid-comment": Expect(
        "email_domain_not_verified",
        "The email address is outside your verified domains",
        ("example.com.evil.test", "one of: example.com"),
    ),
    "status-responder": Expect(
        "idp_refused:Responder",
        "Your identity provider reported an error",
        ("Responder", "The identity provider could not answer (simulated).", "System Log"),
    ),
    "status-authn-failed": Expect(
        "idp_refused:Responder / AuthnFailed",
        "Your identity provider could not sign the user in",
        ("Responder / AuthnFailed", "Assignments"),
    ),
    "missing-email": Expect(
        "missing_attributes",
        "Required attributes are missing: email",
        ("✗ Missing", "Attribute Statements", "firstName, groups, lastName"),
    ),
    "sha1-signature": Expect(
        "weak_algorithm",
        "The response is signed with SHA-1",
        ("rsa-sha1", "RSA-SHA256"),
    ),
    "replay": Expect("replayed", "This response was already used", ("Assertion ID",)),
}

OIDC: dict[str, Expect] = {
    "success": Expect(None, "The test login worked", ("✓ Sent", EMAIL, "The ID token")),
    "wrong-issuer": Expect(
        "wrong_issuer",
        "The answer comes from an unexpected issuer",
        (OP_ISSUER, OP_ISSUER + "-other"),
    ),
    "wrong-audience": Expect(
        "wrong_audience",
        "The ID token was issued to another application (wrong client ID)",
        (OP_CLIENT_ID, OP_CLIENT_ID + "-other", "Client Credentials"),
    ),
    "expired": Expect(
        "expired", "The ID token had expired when it arrived", ("exp", "-3600 s", "-7200 s")
    ),
    "nonce-mismatch": Expect(
        "nonce_mismatch", "The ID token answers another login (nonce)", ("yes, a different one",)
    ),
    "unknown-key": Expect(
        "unknown_key",
        "The ID token is signed with a key your identity provider does not publish",
        ("Key id (kid)", "/oidc/jwks"),
    ),
    "alg-none": Expect("algorithm_not_allowed", "The ID token is not signed", ("none", "RS256")),
    "missing-email": Expect(
        "missing_attributes", "Required claims are missing: email", ("✗ Missing", "email")
    ),
    "email-unverified": Expect(
        "email_not_verified",
        "Your identity provider says the email address is not verified",
        ("email_verified", "false"),
    ),
    "access-denied": Expect(
        "idp_refused:access_denied",
        "The user was not let in (access_denied)",
        ("error=access_denied", "The user declined to sign in (simulated).", "Assignments"),
    ),
    "replay": Expect(
        "token_error",
        "Your identity provider refused the login's code (invalid_grant)",
        ("invalid_grant", "already used"),
    ),
}


def test_every_simulator_scenario_is_covered() -> None:
    assert list(SAML) == [s.value for s in Scenario]
    assert list(OIDC) == [s.value for s in OidcScenario]


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[PortalIdpWorld]:
    built = build_portal_idp_world(store, tmp_path, idp_keys)
    with built.browser, built.idp:
        yield built


def _latest_reason(world: PortalIdpWorld) -> tuple[bool, str | None]:
    test = world.last_test()
    return test.passed, test.reason


def page_text(page_html: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


def _check(page_html: str, expect: Expect, values: dict[str, str]) -> None:
    text = page_text(page_html)
    assert f'id="diagnosis-title">{expect.title}<' in html.unescape(page_html), _diagnosis_of(
        html.unescape(page_html)
    )
    for wanted in expect.shows:
        shown = wanted.format(**values)
        assert shown in text or shown in page_html, shown
    assert "Traceback" not in text
    assert re.search(r"Reference <code>[0-9a-f-]{8,}</code>", page_html), "no reference"


def _diagnosis_of(text: str) -> str:
    found = re.search(r'id="diagnosis-title">([^<]*)<', text)
    return found.group(1) if found else text[:3000]


@pytest.mark.parametrize("scenario", list(SAML))
def test_a_saml_scenario_gets_its_diagnosis(
    world: PortalIdpWorld, idp_keys: IdpKeys, scenario: str
) -> None:
    connection = world.saml_connection("okta")
    page = world.saml_test(connection, scenario)
    assert page.status_code == 200, page.text
    expect = SAML[scenario]
    passed, reason = _latest_reason(world)
    assert (passed, reason) == (expect.reason is None, expect.reason)
    values = {
        "sp_entity_id": f"{ISSUER}/saml/{connection.id}/metadata",
        "acs_url": f"{ISSUER}/saml/{connection.id}/acs",
        "trusted_fingerprint": _fingerprint(idp_keys.certificate_pem),
        "attacker_fingerprint": "",
    }
    if scenario == "wrong-key":
        trusted = values["trusted_fingerprint"]
        fingerprints = set(re.findall(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}", page.text))
        assert trusted in fingerprints
        assert len(fingerprints - {trusted}) == 1  # the signer's, from the response's KeyInfo
    _check(page.text, expect, values)
    if scenario == "success":
        assert "✗" not in page.text
        assert page_text(page.text).count("✓ Sent") == 2  # email and given name, required


@pytest.mark.parametrize("scenario", list(OIDC))
def test_an_oidc_scenario_gets_its_diagnosis(world: PortalIdpWorld, scenario: str) -> None:
    connection = world.oidc_connection("okta")
    page = world.oidc_test(connection, scenario)
    assert page.status_code == 200, page.text
    expect = OIDC[scenario]
    passed, reason = _latest_reason(world)
    assert (passed, reason) == (expect.reason is None, expect.reason)
    _check(page.text, expect, {})
    if scenario == "success":
        assert "✗" not in page.text
        assert page_text(page.text).count("✓ Sent") == 2


def _fingerprint(pem: bytes) -> str:
    certificate = x509.load_pem_x509_certificate(pem)
    return certificate_fingerprint(certificate.public_bytes(Encoding.DER))
