"""Response building and signing: schema-valid XML, signatures that verify with xmlsec."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import xmlsec

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.response import (
    STATUS_AUTHN_FAILED,
    STATUS_RESPONDER,
    ResponseSpec,
    build_response,
    response_xml,
)
from idp_simulator.saml.signing import SigningError, sign, sign_response_xml, verify
from tests.idp_simulator.conftest import NOW
from tests.idp_simulator.saml_helpers import (
    ACS_URL,
    NS,
    REQUEST_ID,
    SP_ENTITY_ID,
    assert_schema_valid,
    parse,
)

PROTOCOL_XSD = "saml-schema-protocol-2.0.xsd"
ISSUER = "http://127.0.0.1:7000/metadata"


def make_spec(**changes) -> ResponseSpec:
    spec = ResponseSpec(
        issuer=ISSUER,
        destination=ACS_URL,
        audience=SP_ENTITY_ID,
        recipient=ACS_URL,
        in_response_to=REQUEST_ID,
        name_id="alice@example.com",
        attributes={"email": ["alice@example.com"], "groups": ["engineering", "admins"]},
        issue_instant=NOW,
        not_before=NOW - timedelta(seconds=60),
        not_on_or_after=NOW + timedelta(minutes=5),
        subject_confirmation_not_on_or_after=NOW + timedelta(minutes=5),
        authn_instant=NOW,
    )
    return replace(spec, **changes)


def test_response_has_the_saml_shape():
    root = parse(response_xml(make_spec()))
    assert root.prefix == "samlp"
    assert root.get("Destination") == ACS_URL
    assert root.get("InResponseTo") == REQUEST_ID
    assert root.get("IssueInstant") == "2026-01-15T12:00:00Z"
    assert [child.tag.split("}")[1] for child in root] == ["Issuer", "Status", "Assertion"]
    assertion = root.find("saml:Assertion", NS)
    assert [child.tag.split("}")[1] for child in assertion] == [
        "Issuer",
        "Subject",
        "Conditions",
        "AuthnStatement",
        "AttributeStatement",
    ]
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    assert name_id.text == "alice@example.com"
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    confirmation = assertion.find("saml:Subject/saml:SubjectConfirmation", NS)
    assert confirmation.get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    data = confirmation.find("saml:SubjectConfirmationData", NS)
    assert data.attrib == {
        "InResponseTo": REQUEST_ID,
        "NotOnOrAfter": "2026-01-15T12:05:00Z",
        "Recipient": ACS_URL,
    }
    conditions = assertion.find("saml:Conditions", NS)
    assert conditions.get("NotBefore") == "2026-01-15T11:59:00Z"
    assert conditions.get("NotOnOrAfter") == "2026-01-15T12:05:00Z"
    assert conditions.findtext("saml:AudienceRestriction/saml:Audience", namespaces=NS) == (
        SP_ENTITY_ID
    )
    statement = assertion.find("saml:AuthnStatement", NS)
    assert statement.get("AuthnInstant") == "2026-01-15T12:00:00Z"
    assert statement.get("SessionIndex").startswith("_")
    assert statement.findtext("saml:AuthnContext/saml:AuthnContextClassRef", namespaces=NS) == (
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    )
    groups = assertion.find("saml:AttributeStatement/saml:Attribute[@Name='groups']", NS)
    assert groups.get("NameFormat") == "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
    assert [v.text for v in groups.findall("saml:AttributeValue", NS)] == ["engineering", "admins"]


def test_ids_are_underscore_and_40_hex():
    spec = make_spec()
    for value in (spec.response_id, spec.assertion_id, spec.session_index):
        assert value[0] == "_"
        assert len(value) == 41
        int(value[1:], 16)
    assert make_spec().response_id != spec.response_id


def test_a_bare_string_attribute_is_one_value():
    root = build_response(make_spec(attributes={"department": "R&D"}))
    values = root.findall(".//saml:Attribute[@Name='department']/saml:AttributeValue", NS)
    assert [v.text for v in values] == ["R&D"]


def test_failure_status_has_no_assertion():
    root = build_response(
        make_spec(
            status_code=STATUS_RESPONDER, sub_status_code=STATUS_AUTHN_FAILED, status_message="no"
        )
    )
    assert root.find("saml:Assertion", NS) is None
    top = root.find("samlp:Status/samlp:StatusCode", NS)
    assert top.get("Value") == STATUS_RESPONDER
    assert top.find("samlp:StatusCode", NS).get("Value") == STATUS_AUTHN_FAILED
    assert root.findtext("samlp:Status/samlp:StatusMessage", namespaces=NS) == "no"
    assert_schema_valid(PROTOCOL_XSD, root)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        build_response(make_spec(issue_instant=NOW.replace(tzinfo=None)))


@pytest.mark.parametrize(
    ("sign_assertion", "sign_response"),
    [(True, True), (True, False), (False, True), (False, False)],
)
def test_signed_responses_are_schema_valid_and_verify(keys: IdpKeys, sign_assertion, sign_response):
    signed = sign_response_xml(
        response_xml(make_spec()),
        keys,
        sign_assertion=sign_assertion,
        sign_response=sign_response,
    )
    root = parse(signed)
    assert_schema_valid(PROTOCOL_XSD, root)
    assertion = root.find("saml:Assertion", NS)
    for element, expected in ((assertion, sign_assertion), (root, sign_response)):
        signature = element.find("ds:Signature", NS)
        assert (signature is not None) is expected
        if signature is None:
            continue
        # Schema position: right after the element's Issuer.
        assert signature.getprevious().tag == f"{{{NS['saml']}}}Issuer"
        reference = signature.find("ds:SignedInfo/ds:Reference", NS)
        assert reference.get("URI") == "#" + element.get("ID")
        transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/*", NS)]
        assert transforms == [
            "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
        ]
        info = signature.find("ds:SignedInfo", NS)
        assert info.find("ds:CanonicalizationMethod", NS).get("Algorithm") == (
            "http://www.w3.org/2001/10/xml-exc-c14n#"
        )
        assert info.find("ds:SignatureMethod", NS).get("Algorithm") == (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        )
        assert reference.find("ds:DigestMethod", NS).get("Algorithm") == (
            "http://www.w3.org/2001/04/xmlenc#sha256"
        )
        certificate = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", None, NS)
        assert "".join(certificate.split()) == keys.certificate_base64()
        verify(element, keys.certificate_pem)


def test_response_signature_covers_the_signed_assertion(keys: IdpKeys):
    root = parse(
        sign_response_xml(response_xml(make_spec()), keys, sign_assertion=True, sign_response=True)
    )
    value = root.find("saml:Assertion/ds:Signature/ds:SignatureValue", NS)
    value.text = value.text[::-1]
    with pytest.raises(xmlsec.Error):
        verify(root, keys.certificate_pem)


def test_tampering_breaks_the_signature(keys: IdpKeys):
    root = parse(
        sign_response_xml(response_xml(make_spec()), keys, sign_assertion=True, sign_response=False)
    )
    assertion = root.find("saml:Assertion", NS)
    assertion.find("saml:Subject/saml:NameID", NS).text = "mallory@example.com"
    with pytest.raises(xmlsec.Error):
        verify(assertion, keys.certificate_pem)


def test_another_certificate_does_not_verify(keys: IdpKeys, wrong_keys: IdpKeys):
    root = parse(
        sign_response_xml(response_xml(make_spec()), keys, sign_assertion=False, sign_response=True)
    )
    with pytest.raises(xmlsec.Error):
        verify(root, wrong_keys.certificate_pem)


def test_sha1_is_available_on_request(keys: IdpKeys):
    root = parse(
        sign_response_xml(
            response_xml(make_spec()),
            keys,
            sign_assertion=True,
            sign_response=False,
            algorithm="rsa-sha1",
        )
    )
    signature = root.find("saml:Assertion/ds:Signature", NS)
    assert signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    )
    assert signature.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2000/09/xmldsig#sha1"
    )
    verify(root.find("saml:Assertion", NS), keys.certificate_pem)


def test_sign_response_xml_keeps_comments_and_refuses_other_documents(keys: IdpKeys):
    xml = response_xml(make_spec()).replace(b"<saml:Subject>", b"<saml:Subject><!-- kept -->")
    signed = sign_response_xml(xml, keys, sign_assertion=True, sign_response=True)
    assert b"<!-- kept -->" in signed
    verify(parse(signed), keys.certificate_pem)
    with pytest.raises(SigningError, match="expected a samlp:Response"):
        sign_response_xml(b"<a/>", keys, sign_assertion=True, sign_response=True)


def test_sign_needs_an_issuer(keys: IdpKeys):
    root = parse(b'<x ID="_1"/>')
    with pytest.raises(SigningError, match="saml:Issuer"):
        sign(root, keys)
