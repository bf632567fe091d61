"""Every named scenario, end to end through `SimulatedIdp.respond`: XML shape and signatures."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import xmlsec

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.idp import SignMode, SimulatedIdp, SimulatedUser
from idp_simulator.saml.scenarios import DESCRIPTIONS, Scenario, scenario_for_email
from idp_simulator.saml.signing import SigningError, verify
from tests.idp_simulator.saml_helpers import (
    ACS_URL,
    NS,
    REQUEST_ID,
    SP_ENTITY_ID,
    assert_schema_valid,
    authn_request_xml,
    decode_response,
    parse,
    post_params,
)

ALICE = SimulatedUser(
    email="alice@example.com",
    given_name="Alice",
    family_name="Example",
    groups=("engineering", "admins"),
    extra_attributes={"department": ("R&D",)},
)
ISSUER = "http://127.0.0.1:7000/metadata"
PROTOCOL_XSD = "saml-schema-protocol-2.0.xsd"


def respond(
    idp: SimulatedIdp,
    scenario: Scenario | str,
    sign: SignMode = "both",
    user: SimulatedUser = ALICE,
) -> Any:
    request = idp.parse_request("post", post_params(authn_request_xml()))
    postback = idp.respond(request, user, scenario, sign=sign)
    assert postback.acs_url == ACS_URL
    assert postback.relay_state == "rs-123"
    return decode_response(postback.saml_response_b64)


def assertion_of(root: Any) -> Any:
    assertions = root.findall("saml:Assertion", NS)
    assert len(assertions) == 1
    return assertions[0]


def name_id_of(root: Any) -> Any:
    return assertion_of(root).find("saml:Subject/saml:NameID", NS)


def attribute(assertion: Any, name: str) -> list[str]:
    values = assertion.findall(f"saml:AttributeStatement/saml:Attribute[@Name='{name}']/*", NS)
    return [value.text for value in values]


def verify_both(root: Any, certificate_pem: bytes) -> None:
    verify(root, certificate_pem)
    verify(assertion_of(root), certificate_pem)


def test_every_scenario_is_described_and_named_as_specified():
    assert set(DESCRIPTIONS) == set(Scenario)
    assert [s.value for s in Scenario] == [
        "success",
        "expired",
        "not-yet-valid",
        "wrong-audience",
        "wrong-destination",
        "wrong-issuer",
        "unsigned",
        "wrong-key",
        "in-response-to-mismatch",
        "signature-wrapping",
        "nameid-comment",
        "status-responder",
        "status-authn-failed",
        "missing-email",
        "sha1-signature",
        "replay",
    ]


@pytest.mark.parametrize("scenario", [Scenario.SUCCESS, Scenario.REPLAY])
def test_success(idp: SimulatedIdp, keys: IdpKeys, scenario):
    root = respond(idp, scenario)
    assert_schema_valid(PROTOCOL_XSD, root)
    verify_both(root, keys.certificate_pem)
    assert root.get("Destination") == ACS_URL
    assert root.get("InResponseTo") == REQUEST_ID
    assert root.findtext("saml:Issuer", namespaces=NS) == ISSUER
    assertion = assertion_of(root)
    assert assertion.findtext("saml:Issuer", namespaces=NS) == ISSUER
    assert name_id_of(root).text == "alice@example.com"
    assert attribute(assertion, "email") == ["alice@example.com"]
    assert attribute(assertion, "firstName") == ["Alice"]
    assert attribute(assertion, "lastName") == ["Example"]
    assert attribute(assertion, "groups") == ["engineering", "admins"]
    assert attribute(assertion, "department") == ["R&D"]
    conditions = assertion.find("saml:Conditions", NS)
    assert conditions.get("NotBefore") == "2026-01-15T11:59:00Z"
    assert conditions.get("NotOnOrAfter") == "2026-01-15T12:05:00Z"
    assert conditions.findtext(".//saml:Audience", namespaces=NS) == SP_ENTITY_ID


@pytest.mark.parametrize(
    ("sign", "response_signed", "assertion_signed"),
    [("both", True, True), ("assertion", False, True), ("response", True, False)],
)
def test_sign_modes(idp: SimulatedIdp, keys: IdpKeys, sign, response_signed, assertion_signed):
    root = respond(idp, Scenario.SUCCESS, sign=sign)
    assert (root.find("ds:Signature", NS) is not None) is response_signed
    assert (assertion_of(root).find("ds:Signature", NS) is not None) is assertion_signed
    assert_schema_valid(PROTOCOL_XSD, root)


def test_expired(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.EXPIRED)
    verify_both(root, keys.certificate_pem)
    assert root.get("IssueInstant") == "2026-01-15T10:00:00Z"
    assertion = assertion_of(root)
    assert assertion.find("saml:Conditions", NS).get("NotOnOrAfter") == "2026-01-15T11:00:00Z"
    data = assertion.find(".//saml:SubjectConfirmationData", NS)
    assert data.get("NotOnOrAfter") == "2026-01-15T11:00:00Z"


def test_not_yet_valid(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.NOT_YET_VALID)
    verify_both(root, keys.certificate_pem)
    conditions = assertion_of(root).find("saml:Conditions", NS)
    assert conditions.get("NotBefore") == "2026-01-15T13:00:00Z"
    assert conditions.get("NotOnOrAfter") == "2026-01-15T13:06:00Z"


def test_wrong_audience(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.WRONG_AUDIENCE)
    verify_both(root, keys.certificate_pem)
    audience = assertion_of(root).findtext(".//saml:Audience", namespaces=NS)
    assert audience == SP_ENTITY_ID + "-other"


def test_wrong_destination(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.WRONG_DESTINATION)
    verify_both(root, keys.certificate_pem)
    assert root.get("Destination") == ACS_URL + "-other"
    data = assertion_of(root).find(".//saml:SubjectConfirmationData", NS)
    assert data.get("Recipient") == ACS_URL + "-other"


def test_wrong_issuer(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.WRONG_ISSUER)
    verify_both(root, keys.certificate_pem)
    assert root.findtext("saml:Issuer", namespaces=NS) != ISSUER
    assert assertion_of(root).findtext("saml:Issuer", namespaces=NS) != ISSUER


def test_unsigned(idp: SimulatedIdp):
    root = respond(idp, Scenario.UNSIGNED)
    assert root.findall(".//ds:Signature", NS) == []
    assert name_id_of(root).text == "alice@example.com"


def test_wrong_key(idp: SimulatedIdp, keys: IdpKeys, wrong_keys: IdpKeys):
    root = respond(idp, Scenario.WRONG_KEY)
    for element in (root, assertion_of(root)):
        with pytest.raises(xmlsec.Error):
            verify(element, keys.certificate_pem)
    verify_both(root, wrong_keys.certificate_pem)
    certificate = root.findtext("ds:Signature/ds:KeyInfo//ds:X509Certificate", namespaces=NS)
    assert "".join(certificate.split()) == wrong_keys.certificate_base64()


def test_in_response_to_mismatch(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.IN_RESPONSE_TO_MISMATCH)
    verify_both(root, keys.certificate_pem)
    other = root.get("InResponseTo")
    assert other != REQUEST_ID
    assert other.startswith("_")
    data = assertion_of(root).find(".//saml:SubjectConfirmationData", NS)
    assert data.get("InResponseTo") == other


def test_signature_wrapping(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.SIGNATURE_WRAPPING, sign="assertion")
    evil, signed = root.findall("saml:Assertion", NS)
    assert evil.find("ds:Signature", NS) is None
    assert evil.get("ID") != signed.get("ID")
    assert evil.findtext("saml:Subject/saml:NameID", namespaces=NS) == "evil@example.com"
    assert attribute(evil, "email") == ["evil@example.com"]
    assert signed.findtext("saml:Subject/saml:NameID", namespaces=NS) == "alice@example.com"
    verify(signed, keys.certificate_pem)
    with pytest.raises(SigningError):
        verify(evil, keys.certificate_pem)


def test_signature_wrapping_breaks_a_response_signature(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.SIGNATURE_WRAPPING, sign="both")
    assert len(root.findall("saml:Assertion", NS)) == 2
    with pytest.raises(xmlsec.Error):
        verify(root, keys.certificate_pem)


def test_nameid_comment_still_verifies_after_the_comment(idp: SimulatedIdp, keys: IdpKeys):
    postback = idp.respond(
        idp.parse_request("post", post_params(authn_request_xml())), ALICE, Scenario.NAMEID_COMMENT
    )
    xml = base64.b64decode(postback.saml_response_b64)
    assert b"<saml:NameID " in xml
    assert b">alice@example.com<!---->.evil.test</saml:NameID>" in xml
    # The parser the tests use keeps comments: what a naive reader sees.
    root = parse(xml)
    name_id = name_id_of(root)
    assert name_id.text == "alice@example.com"
    assert "".join(name_id.itertext()) == "alice@example.com.evil.test"
    email_value = assertion_of(root).find(
        "saml:AttributeStatement/saml:Attribute[@Name='email']/saml:AttributeValue", NS
    )
    assert email_value.text == "alice@example.com"
    assert "".join(email_value.itertext()) == "alice@example.com.evil.test"
    verify_both(root, keys.certificate_pem)


@pytest.mark.parametrize(
    ("scenario", "second_level"),
    [
        (Scenario.STATUS_RESPONDER, None),
        (Scenario.STATUS_AUTHN_FAILED, "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"),
    ],
)
def test_status_scenarios_carry_no_assertion(idp: SimulatedIdp, keys, scenario, second_level):
    root = respond(idp, scenario)
    assert_schema_valid(PROTOCOL_XSD, root)
    assert root.find("saml:Assertion", NS) is None
    code = root.find("samlp:Status/samlp:StatusCode", NS)
    assert code.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Responder"
    nested = code.find("samlp:StatusCode", NS)
    assert (None if nested is None else nested.get("Value")) == second_level
    verify(root, keys.certificate_pem)


def test_missing_email(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.MISSING_EMAIL)
    verify_both(root, keys.certificate_pem)
    name_id = name_id_of(root)
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    assert "@" not in name_id.text
    assert name_id.text == name_id_of(respond(idp, Scenario.MISSING_EMAIL)).text  # stable
    assertion = assertion_of(root)
    assert attribute(assertion, "email") == []
    assert attribute(assertion, "firstName") == ["Alice"]


def test_sha1_signature(idp: SimulatedIdp, keys: IdpKeys):
    root = respond(idp, Scenario.SHA1_SIGNATURE)
    verify_both(root, keys.certificate_pem)
    methods = {m.get("Algorithm") for m in root.iterfind(".//ds:SignatureMethod", NS)}
    digests = {d.get("Algorithm") for d in root.iterfind(".//ds:DigestMethod", NS)}
    assert methods == {"http://www.w3.org/2000/09/xmldsig#rsa-sha1"}
    assert digests == {"http://www.w3.org/2000/09/xmldsig#sha1"}


def test_scenario_names_are_accepted_as_strings_and_checked(idp: SimulatedIdp):
    expired = respond(idp, "expired")
    assert expired.get("IssueInstant") == "2026-01-15T10:00:00Z"
    with pytest.raises(ValueError, match="not-a-scenario"):
        respond(idp, "not-a-scenario")


def test_the_last_postback_is_remembered_for_replay(idp: SimulatedIdp):
    assert idp.last_postback() is None
    request = idp.parse_request("post", post_params(authn_request_xml()))
    postback = idp.respond(request, ALICE, Scenario.REPLAY)
    assert idp.last_postback() == postback


@pytest.mark.parametrize(
    ("email", "scenario"),
    [
        ("alice@example.com", None),
        ("expired@example.com", Scenario.EXPIRED),
        ("alice+expired@example.com", Scenario.EXPIRED),
        ("Alice+Wrong-Key@Example.com", Scenario.WRONG_KEY),
        ("alice+unknown@example.com", None),
        ("a+b+nameid-comment@example.com", Scenario.NAMEID_COMMENT),
        ("replay@example.com", Scenario.REPLAY),
    ],
)
def test_scenario_for_email(email, scenario):
    assert scenario_for_email(email) is scenario
