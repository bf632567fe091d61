"""The SAML connector's less travelled paths, each with a golden response signed (and, where
it matters, encrypted) for real: shapes an honest IdP may send and that must still work, and
the remaining ways a response, its signature or its encryption can be wrong. Reasons are
compared as the strings the connector gives (docs/security.md lists them)."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from typing import Any

import pytest
import xmlsec
from lxml import etree

from broker.upstream.base import CallbackInput, FlowContext, UpstreamIncomplete, UpstreamInvalid
from broker.upstream.saml.validate import MAX_EVIDENCE_CHARS
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    ALICE,
    DS,
    FLOW_ID,
    NOW,
    NS,
    SAML,
    SAMLP,
    XENC,
    GoldenConnection,
    Mutator,
    encode,
    golden_response,
    golden_spec,
    q,
    reparse,
    serialize,
)
from tests.support.saml_golden_cases import accepted, refused, respond
from tests.support.saml_mutators import assertion_of, remove, set_attribute, signature_of

NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
HOLDER_OF_KEY = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
ENCRYPTED_KEY = f"{XENC}EncryptedKey"
#: Found while covering assertion_checks.py; the fix belongs to the SAML error-path change.


def saml_time(delta: timedelta) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- shapes an honest IdP sends -----------------------------------------------------------------


def test_an_unsigned_envelope_need_not_name_its_destination(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """SAML Bindings §3.5.5.2 requires Destination of a *signed* POST message only."""
    data = respond(
        golden_a, idp_keys, sign="assertion", before=set_attribute(".", "Destination", None)
    )
    accepted(golden_a, data)


def test_a_non_bearer_confirmation_beside_the_bearer_one_is_ignored(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    def add_holder_of_key(root: Any) -> None:
        subject = root.find(".//saml:Subject", NS)
        etree.SubElement(subject, q(SAML, "SubjectConfirmation"), Method=HOLDER_OF_KEY)

    accepted(golden_a, respond(golden_a, idp_keys, before=add_holder_of_key))


def test_the_nameid_is_the_email_when_its_format_says_so(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys, attributes={"firstName": ("Alice",)})
    identity = accepted(golden_a, data)
    assert identity.raw_attributes["saml_name_id_format"] == NAMEID_EMAIL


def test_a_nameid_of_another_format_is_not_taken_as_the_email(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(
        golden_a, idp_keys, name_id_format=NAMEID_PERSISTENT, attributes={"firstName": ("A",)}
    )
    with pytest.raises(UpstreamIncomplete) as incomplete:
        golden_a.open().login(encode(data))
    assert incomplete.value.missing == ("email",)


def test_a_nameid_without_a_format_is_recorded_without_one(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys, before=set_attribute(".//saml:NameID", "Format", None))
    identity = golden_a.open().login(encode(data))
    assert identity.subject == ALICE
    assert identity.raw_attributes["saml_name_id"] == ALICE
    assert "saml_name_id_format" not in identity.raw_attributes


@pytest.mark.parametrize("values", [(), ("e-1", "e-2")])
def test_a_subject_attribute_must_have_exactly_one_value(
    golden_a: GoldenConnection, idp_keys: IdpKeys, values: tuple[str, ...]
) -> None:
    attributes = {"email": (ALICE,), **({"employeeId": values} if values else {})}
    data = respond(golden_a, idp_keys, attributes=attributes)
    with pytest.raises(UpstreamIncomplete) as incomplete:
        golden_a.open(subject_attribute="employeeId").login(encode(data))
    assert incomplete.value.missing == ("subject",)
    assert incomplete.value.looked_for == "exactly one 'employeeId'"


def test_an_encrypted_key_referenced_from_the_same_document_is_used(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The content key beside the EncryptedData, named by a same-document RetrievalMethod
    (the layout Shibboleth and others use) rather than inline in its KeyInfo."""

    def key_beside_the_data(root: Any) -> None:
        encrypted = root.find("saml:EncryptedAssertion", NS)
        key_info = encrypted.find("xenc:EncryptedData/ds:KeyInfo", NS)
        key = key_info.find("xenc:EncryptedKey", NS)
        key_info.remove(key)
        key.set("Id", "_content_key")
        encrypted.append(key)
        etree.SubElement(
            key_info, q(DS, "RetrievalMethod"), URI="#_content_key", Type=ENCRYPTED_KEY
        )

    data = respond(golden_a, idp_keys, sign="assertion", encrypt=True, mutate=key_beside_the_data)
    accepted(golden_a, data)


def encrypted_with_an_oaep_label(
    connection: GoldenConnection, keys: IdpKeys, label: bytes
) -> bytes:
    """Alice's response, its signed assertion encrypted (AES-256-GCM, RSA-OAEP) with an OAEP
    label (`xenc:OAEPparams`), which the decryption must then use too."""
    root = golden_response(golden_spec(connection), keys, sign="assertion")
    assertion = assertion_of(root)
    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(
            connection.encryption_certificate.encode(), xmlsec.constants.KeyDataFormatCertPem
        )
    )
    template = xmlsec.template.encrypted_data_create(
        root, xmlsec.constants.TransformAes256Gcm, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    method = key.find(q(XENC, "EncryptionMethod"))
    etree.SubElement(method, q(XENC, "OAEPparams")).text = base64.b64encode(label).decode()
    xmlsec.template.encrypted_data_ensure_cipher_value(key)
    wrapper = etree.Element(q(SAML, "EncryptedAssertion"))
    assertion.addprevious(wrapper)
    wrapper.append(assertion)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, 256, xmlsec.constants.KeyDataTypeSession
    )
    context.encrypt_xml(template, assertion)
    return serialize(reparse(serialize(root)))


def test_an_oaep_label_is_only_a_parameter_of_the_key_transport(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """OAEPparams changes no algorithm: the key transport's allow-list lets it through, and
    the key decrypts with it."""
    accepted(golden_a, encrypted_with_an_oaep_label(golden_a, idp_keys, b"gatehouse"))


def test_the_evidence_is_the_verified_response_as_indented_xml(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    identity = accepted(golden_a, respond(golden_a, idp_keys, encrypt=True))
    assert identity.evidence is not None
    shown = identity.evidence()
    assert shown["saml_xml_truncated"] is False
    text = shown["saml_xml"]
    assert isinstance(text, str)
    assert "\n  <saml:Assertion" in text  # decrypted, and indented
    assert "EncryptedAssertion" not in text
    assert ALICE in text


def test_a_long_response_is_cut_in_the_evidence(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    many = {"email": (ALICE,), "groups": tuple(f"group-{n:05d}" for n in range(3000))}
    identity = accepted(golden_a, respond(golden_a, idp_keys, attributes=many))
    assert identity.evidence is not None
    shown = identity.evidence()
    assert shown["saml_xml_truncated"] is True
    assert isinstance(shown["saml_xml"], str)
    assert len(shown["saml_xml"]) == MAX_EVIDENCE_CHARS


# -- what must be refused ---------------------------------------------------------------------


def only_bearer_without_data(root: Any) -> None:
    confirmation = root.find(".//saml:SubjectConfirmation", NS)
    confirmation.remove(confirmation.find("saml:SubjectConfirmationData", NS))


def only_holder_of_key(root: Any) -> None:
    root.find(".//saml:SubjectConfirmation", NS).set("Method", HOLDER_OF_KEY)


def no_confirmation_in_response_to(root: Any) -> None:
    data = root.find(".//saml:SubjectConfirmationData", NS)
    data.attrib.pop("InResponseTo")


def session_ended(root: Any) -> None:
    root.find(".//saml:AuthnStatement", NS).set(
        "SessionNotOnOrAfter", saml_time(-timedelta(minutes=10))
    )


def instant_with_offset(root: Any) -> None:
    """xs:dateTime allows an offset; SAML (Core §1.3.3) says UTC without one."""
    assertion_of(root).set("IssueInstant", NOW.strftime("%Y-%m-%dT%H:%M:%S+00:00"))


def instant_past_midnight(root: Any) -> None:
    """`24:00:00` is a valid xs:dateTime (the end of the day) that no datetime reads."""
    assertion_of(root).set("IssueInstant", "2026-01-01T24:00:00Z")


@pytest.mark.parametrize(
    ("before", "sign", "reason"),
    [
        pytest.param(only_bearer_without_data, "both", "subject_confirmation_invalid",
                     id="bearer-without-data"),
        pytest.param(only_holder_of_key, "both", "subject_confirmation_invalid",
                     id="no-bearer-confirmation"),
        # The assertion alone is signed: it must name our request itself (S-17).
        pytest.param(no_confirmation_in_response_to, "assertion", "in_response_to_mismatch",
                     id="signed-assertion-without-InResponseTo"),
        pytest.param(session_ended, "both", "expired", id="session-ended"),
        pytest.param(instant_past_midnight, "both", "malformed", id="instant-24-00-00"),
        pytest.param(set_attribute(".", "Destination", "https://gatehouse.test:99999/acs"),
                     "both", "wrong_destination", id="destination-with-an-impossible-port"),
    ],
)  # fmt: skip
def test_correctly_signed_but_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator, sign: str, reason: str
) -> None:
    assert refused(golden_a, respond(golden_a, idp_keys, sign=sign, before=before)).reason == reason


@pytest.mark.parametrize(
    "before",
    [instant_past_midnight, instant_with_offset],
)
def test_an_expired_assertion_with_an_unreadable_issue_instant_says_it_expired(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator
) -> None:
    """The expiry is the finding; an IssueInstant that cannot be read adds no fact to it."""
    data = respond(
        golden_a, idp_keys, before=before,
        not_on_or_after=NOW - timedelta(minutes=10),
        subject_confirmation_not_on_or_after=NOW - timedelta(minutes=10),
    )  # fmt: skip
    refusal = refused(golden_a, data)
    assert refusal.reason == "expired"
    assert "issue_instant" not in refusal.facts


def test_an_instant_with_an_offset_is_malformed(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys, before=instant_with_offset)
    assert refused(golden_a, data).reason == "malformed"


def test_a_flow_that_sent_no_authn_request_takes_no_answer(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    sp = golden_a.open()
    flow = FlowContext(flow_id=FLOW_ID, connection_id="con_golden_a", callback_url=golden_a.acs_url)
    form = {"SAMLResponse": encode(respond(golden_a, idp_keys)), "RelayState": FLOW_ID}
    with pytest.raises(UpstreamInvalid) as refusal:
        sp.connector.complete_login(flow, CallbackInput(form=form))
    assert refusal.value.reason == "no_request"


def logout_response(root: Any) -> None:
    root.tag = q(SAMLP, "LogoutResponse")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(logout_response, id="not-a-response"),
        pytest.param(set_attribute(".", "Version", "1.1"), id="version-1.1"),
        pytest.param(set_attribute(".", "ID", None), id="no-id"),
        pytest.param(remove("samlp:Status"), id="no-status"),
    ],
)
def test_what_is_not_a_saml_2_response_with_a_status_is_malformed(
    golden_a: GoldenConnection, idp_keys: IdpKeys, mutate: Mutator
) -> None:
    assert refused(golden_a, respond(golden_a, idp_keys, mutate=mutate)).reason == "malformed"


# -- signatures -------------------------------------------------------------------------------


def second_response_signature(root: Any) -> None:
    signature = signature_of(root)
    signature.addnext(copy.deepcopy(signature))


def signature_in_extensions(root: Any) -> None:
    """A copy of the Response's signature inside samlp:Extensions, which has no ID."""
    extensions = etree.Element(q(SAMLP, "Extensions"))
    root.find("saml:Issuer", NS).addnext(extensions)
    extensions.append(copy.deepcopy(signature_of(root)))


def c14n_with_comments(root: Any) -> None:
    method = signature_of(assertion_of(root)).find(".//ds:CanonicalizationMethod", NS)
    method.set("Algorithm", "http://www.w3.org/2001/10/xml-exc-c14n#WithComments")


def no_signature_method(root: Any) -> None:
    signed_info = signature_of(assertion_of(root)).find("ds:SignedInfo", NS)
    signed_info.remove(signed_info.find("ds:SignatureMethod", NS))


def no_reference_transforms(root: Any) -> None:
    reference = signature_of(assertion_of(root)).find(".//ds:Reference", NS)
    reference.remove(reference.find("ds:Transforms", NS))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(second_response_signature, "bad_signature_structure", id="two-signatures"),
        pytest.param(signature_in_extensions, "bad_signature_structure",
                     id="signature-of-an-element-without-id"),
        pytest.param(c14n_with_comments, "weak_algorithm", id="c14n-with-comments"),
        pytest.param(no_signature_method, "bad_signature_structure", id="no-signature-method"),
        # Without the enveloped transform the digest covers the signature itself: the
        # shape is allowed, the signature does not verify.
        pytest.param(no_reference_transforms, "signature_invalid", id="no-transforms"),
    ],
)  # fmt: skip
def test_a_signature_of_the_wrong_shape_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys, mutate: Mutator, reason: str
) -> None:
    assert refused(golden_a, respond(golden_a, idp_keys, mutate=mutate)).reason == reason


@pytest.mark.parametrize(
    ("certificate", "shown"),
    [
        ("", "(no certificate in the signature's KeyInfo)"),
        (base64.b64encode(b"not a certificate").decode(), "(an unreadable certificate in KeyInfo)"),
    ],
)
def test_a_signature_that_fails_says_what_its_key_info_held(
    golden_a: GoldenConnection, attacker_keys: IdpKeys, certificate: str, shown: str
) -> None:
    def key_info_says(root: Any) -> None:
        for node in root.iter(q(DS, "X509Certificate")):
            node.text = certificate

    data = respond(golden_a, attacker_keys, mutate=key_info_says)
    refusal = refused(golden_a, data)
    assert refusal.reason == "signature_invalid"
    assert refusal.facts["response_fingerprint"] == shown


# -- encryption -------------------------------------------------------------------------------


def key_size_on_the_data_algorithm(root: Any) -> None:
    method = root.find(".//xenc:EncryptedData/xenc:EncryptionMethod", NS)
    etree.SubElement(method, q(XENC, "KeySize")).text = "256"


def key_from_another_document(root: Any) -> None:
    key_info = root.find(".//xenc:EncryptedData/ds:KeyInfo", NS)
    etree.SubElement(
        key_info, q(DS, "RetrievalMethod"), URI="https://attacker.test/key", Type=ENCRYPTED_KEY
    )


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(key_size_on_the_data_algorithm, "bad_encryption_structure",
                     id="parameters-on-the-data-algorithm"),
        pytest.param(key_from_another_document, "bad_encryption_structure",
                     id="retrieval-method-outside"),
    ],
)  # fmt: skip
def test_an_encryption_of_the_wrong_shape_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys, mutate: Mutator, reason: str
) -> None:
    data = respond(golden_a, idp_keys, sign="assertion", encrypt=True, mutate=mutate)
    assert refused(golden_a, data).reason == reason


def test_refusals_before_any_signature_carry_no_evidence(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    refusal = refused(golden_a, respond(golden_a, idp_keys, mutate=remove("samlp:Status")))
    assert refusal.evidence is None


def test_a_refusal_after_the_signature_verified_carries_the_response(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    refusal = refused(golden_a, respond(golden_a, idp_keys, before=session_ended))
    assert refusal.evidence is not None
    assert ALICE in str(refusal.evidence()["saml_xml"])
