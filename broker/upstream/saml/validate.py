"""Is this SAMLResponse a valid answer to our AuthnRequest? Every check, in a fixed order.

We use python3-saml's parser, decryption, structural checks and accessors on one parsed tree,
and replace the checks it leaves to the caller or does weakly (docs/security.md, "python3-saml"):
wall-clock time with a hard-coded 300 s skew becomes the injected clock and the connection's
skew; a prefix match on Destination and a substring match on Recipient become exact matches;
a missing AudienceRestriction, InResponseTo or SubjectConfirmationData/NotOnOrAfter becomes a
refusal; signatures are verified with only the pinned certificates and allow-listed
transforms, and every signature present must verify.

The work is split in two so the connector can consult the replay cache between them:
`authenticate` (here) proves who signed what, with no time or addressing checks yet;
`assertion_checks.check_assertion` proves it was meant for this login, now.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import xmlsec
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.upstream.saml.xmlenc import check_encryption_shapes
from broker.upstream.saml.xmlsig import (
    XmlSecurityError,
    check_ids,
    check_signature_shapes,
    key_info_facts,
    protocol_schema,
    register_ids,
    verify_signature,
)

#: SAMLResponse field cap, checked before base64 decoding (S-39; ruby-saml uses 250 000).
MAX_SAML_RESPONSE_CHARS = 256 * 1024
#: An assertion issued longer ago than this (plus skew) is stale even if its own
#: NotOnOrAfter is years away (S-32).
MAX_ASSERTION_AGE = timedelta(minutes=10)

_RESPONSE = f"{{{C.NS_SAMLP}}}Response"
_ASSERTION = f"{{{C.NS_SAML}}}Assertion"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


class SamlInvalid(Exception):
    """The response fails a check. `reason` is a stable code (audit log, tests); `facts`
    are the expected and actual values a portal test login's diagnosis shows (see
    `UpstreamError`), built here, on the refusal path only."""

    def __init__(
        self, reason: str, detail: str = "", *, facts: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.facts: dict[str, str] = dict(facts or {})
        #: Set when the refusal came after every signature verified with a pinned key
        #: (a wrong Issuer): what the IdP signed may then be shown as what it sent.
        self.verified: Authenticated | None = None


class SamlStatusError(Exception):
    """The IdP answered with a non-success status: it refused to sign the person in."""

    def __init__(self, codes: Sequence[str], message: str | None) -> None:
        super().__init__(" / ".join(codes))
        self.codes = tuple(codes)
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    idp_entity_id: str
    sp_entity_id: str
    acs_url: str
    #: The ID of our AuthnRequest. None only on the IdP-initiated path (not enabled for any
    #: connection yet; the shared real-IdP samples are unsolicited and are checked on it).
    request_id: str | None
    now: datetime
    skew: timedelta
    allow_sha1: bool
    #: AES-CBC content encryption accepted (S-22); AES-GCM always is.
    allow_cbc_encryption: bool
    require_assertion_signature: bool
    require_encrypted_assertion: bool


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A response whose signatures verified under the pinned keys. Not yet checked for
    audience, addressing, time or request binding."""

    response: _Response
    assertion: etree._Element
    response_signed: bool
    assertion_id: str
    #: When the replay cache may forget this assertion.
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    assertion_id: str
    name_id: str
    name_id_format: str | None
    attributes: Mapping[str, list[str]]
    authn_instant: datetime | None
    session_index: str | None


class _Response(OneLogin_Saml2_Response):
    """python3-saml's response with our S-22 checks run before it decrypts (which it does in
    its constructor, before any signature check), on the tree it parsed."""

    def __init__(
        self, settings: OneLogin_Saml2_Settings, response: bytes, *, allow_cbc: bool
    ) -> None:
        self._allow_cbc = allow_cbc  # read by _decrypt_assertion, called by the constructor
        super().__init__(settings, response)

    def _decrypt_assertion(self, xml: etree._Element) -> etree._Element:
        check_encryption_shapes(xml, allow_cbc=self._allow_cbc)
        result: etree._Element = super()._decrypt_assertion(xml)
        return result


def decode(saml_response: str | None) -> bytes:
    """S-39: cap, then strict base64 (python3-saml's decoder is lenient)."""
    if not saml_response:
        raise SamlInvalid("missing_response", "no SAMLResponse in the POST")
    if len(saml_response) > MAX_SAML_RESPONSE_CHARS:
        raise SamlInvalid("response_too_large", f"{len(saml_response)} characters")
    compact = "".join(saml_response.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SamlInvalid("malformed", "SAMLResponse is not base64") from exc


def authenticate(
    saml_response: str | None,
    *,
    settings: OneLogin_Saml2_Settings,
    keys: Sequence[xmlsec.Key],
    expect: Expectations,
) -> Authenticated:
    raw = decode(saml_response)
    try:
        response = _Response(settings, base64.b64encode(raw), allow_cbc=expect.allow_cbc_encryption)
    except XmlSecurityError as exc:
        raise SamlInvalid(exc.reason, exc.detail, facts=exc.facts) from exc
    except Exception as exc:
        # DTDs, entities, malformed XML, failed decryption: one reason, so that decryption
        # failures are not an oracle. Only the IT admin's test report learns that
        # the assertion was encrypted, which is the usual cause (the IdP encrypts to
        # another certificate than Gatehouse's).
        facts = {"encrypted_assertion": "yes"} if b"EncryptedAssertion" in raw else None
        raise SamlInvalid("malformed", type(exc).__name__, facts=facts) from exc
    document: etree._Element = response.document
    if document.tag != _RESPONSE or document.get("Version") != "2.0" or not document.get("ID"):
        raise SamlInvalid("malformed", "not a SAML 2.0 Response")
    _check_status(response)
    effective: etree._Element = response.get_xml_document()
    try:
        # The decrypted tree too: python3-saml decrypts an EncryptedID in it when asked for
        # the NameID, with the same permissive xmlsec context.
        for tree in {id(document): document, id(effective): effective}.values():
            check_ids(tree)
            check_signature_shapes(tree, allow_sha1=expect.allow_sha1)
            check_encryption_shapes(tree, allow_cbc=expect.allow_cbc_encryption)
    except XmlSecurityError as exc:
        raise SamlInvalid(exc.reason, exc.detail, facts=exc.facts) from exc
    if not response.validate_num_assertions():
        count = len(response._query_assertion(""))
        raise SamlInvalid(
            "wrong_number_of_assertions",
            "exactly one assertion is allowed",
            facts={"assertion_count": str(count)},
        )
    if expect.require_encrypted_assertion and not response.encrypted:
        raise SamlInvalid(
            "encryption_required",
            "the assertion arrived in clear",
            facts={"encrypted_assertion": "no"},
        )
    try:
        signed = response.process_signed_elements()
    except Exception as exc:
        raise SamlInvalid("bad_signature_structure", str(exc)) from exc
    schema = protocol_schema()
    if not schema.validate(document) or (
        response.encrypted and not schema.validate(response.decrypted_document)
    ):
        raise SamlInvalid("schema_invalid", "not valid against the SAML protocol schema")
    response_signed = _RESPONSE in signed
    assertion_signed = _ASSERTION in signed
    signatures = {
        "response_signed": "yes" if response_signed else "no",
        "assertion_signed": "yes" if assertion_signed else "no",
    }
    if not response_signed and not assertion_signed:
        raise SamlInvalid(
            "unsigned", "neither the response nor the assertion is signed", facts=signatures
        )
    if expect.require_assertion_signature and not assertion_signed:
        raise SamlInvalid(
            "assertion_unsigned", "the assertion itself must be signed", facts=signatures
        )
    # Every signature present must verify: the envelope carries Destination, Status and
    # InResponseTo, so a broken Response signature fails the whole response even when the
    # assertion's own signature is good (the real Okta file in the shared test data).
    if response_signed:
        register_ids(document)
        _verify_at(document, OneLogin_Saml2_Utils.RESPONSE_SIGNATURE_XPATH, keys, expect)
    if assertion_signed:
        register_ids(effective)
        _verify_at(effective, OneLogin_Saml2_Utils.ASSERTION_SIGNATURE_XPATH, keys, expect)
    assertions = response._query_assertion("")
    if len(assertions) != 1:
        raise SamlInvalid(
            "wrong_number_of_assertions",
            "the signed assertion was not found",
            facts={"assertion_count": str(len(assertions))},
        )
    assertion = assertions[0]
    authenticated = Authenticated(
        response=response,
        assertion=assertion,
        response_signed=response_signed,
        assertion_id=assertion.get("ID") or "",
        # Long enough: after it, the age check refuses the assertion anyway (S-32, S-35).
        valid_until=expect.now + MAX_ASSERTION_AGE + 2 * expect.skew,
    )
    try:
        _check_issuers(response, document, expect, response_signed=response_signed)
    except SamlInvalid as exc:
        exc.verified = authenticated
        raise
    return authenticated


# -- the individual checks --------------------------------------------------------------


def _check_status(response: _Response) -> None:
    codes = [
        node.get("Value", "")
        for node in OneLogin_Saml2_XML.query(
            response.document, "/samlp:Response/samlp:Status//samlp:StatusCode"
        )
    ]
    if not codes:
        raise SamlInvalid("malformed", "the response has no status")
    if codes[0] != _SUCCESS:
        messages = OneLogin_Saml2_XML.query(
            response.document, "/samlp:Response/samlp:Status/samlp:StatusMessage"
        )
        message = OneLogin_Saml2_XML.element_text(messages[0]) if messages else None
        raise SamlStatusError(codes, message)


def _verify_at(
    tree: etree._Element, xpath: str, keys: Sequence[xmlsec.Key], expect: Expectations
) -> None:
    nodes = OneLogin_Saml2_XML.query(tree, xpath)
    if len(nodes) != 1:
        raise SamlInvalid("bad_signature_structure", "signature not where it must be")
    if not verify_signature(nodes[0], keys, allow_sha1=expect.allow_sha1):
        raise SamlInvalid(
            "signature_invalid",
            "no configured certificate verifies it",
            facts=key_info_facts(nodes[0]),
        )


def _check_issuers(
    response: _Response, document: etree._Element, expect: Expectations, *, response_signed: bool
) -> None:
    """S-30. The assertion's Issuer is required; the Response's, when present, must agree."""
    assertion_issuers = response._query_assertion("/saml:Issuer")
    if len(assertion_issuers) != 1:
        raise SamlInvalid("wrong_issuer", "the assertion must have one Issuer")
    found = [OneLogin_Saml2_XML.element_text(assertion_issuers[0])]
    envelope = OneLogin_Saml2_XML.query(document, "/samlp:Response/saml:Issuer")
    if len(envelope) > 1:
        raise SamlInvalid("wrong_issuer", "several Issuers on the response")
    found += [OneLogin_Saml2_XML.element_text(node) for node in envelope]
    for issuer in found:
        if issuer != expect.idp_entity_id:
            raise SamlInvalid(
                "wrong_issuer",
                f"issuer {issuer!r}",
                facts={"expected_issuer": expect.idp_entity_id, "actual_issuer": str(issuer)},
            )
    if response_signed and not envelope:
        raise SamlInvalid(
            "wrong_issuer",
            "a signed response must name its Issuer",
            facts={"expected_issuer": expect.idp_entity_id, "actual_issuer": "(none)"},
        )
