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
import copy
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import xmlsec
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.model.reasons import Reason
from broker.model.records import Evidence
from broker.upstream.errors import UpstreamError, UpstreamInvalid, UpstreamRejected
from broker.upstream.saml.xmlenc import check_encryption_shapes
from broker.upstream.saml.xmlsig import (
    check_ids,
    check_signature_shapes,
    key_info_facts,
    protocol_schema,
    register_ids,
    trusted_fingerprints,
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
_STATUS_PREFIX = "urn:oasis:names:tc:SAML:2.0:status:"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: The decoded response a test report keeps (it is stored as JSON).
MAX_EVIDENCE_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectations:
    idp_entity_id: str
    #: The pinned IdP certificates (PEM); their fingerprints are a refused signature's facts.
    idp_certificates: tuple[str, ...]
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
    #: The index, among the pinned certificates, of the one each signature verified under.
    signed_with: tuple[int, ...] = ()


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
    its constructor, before any signature check), on the tree it parsed.

    Each XPath query is run once per document: python3-saml evaluates every
    `_query_assertion` as two queries over the whole document (the signed assertion's
    reference, then the expression under it), and a login's checks asked ~40 of them, most
    the same (issue 18); each expression is compiled once per process (`_xpath`). Keyed by
    the document too, so a query before decryption is never answered from the encrypted
    tree; nothing modifies either tree once parsed (signature checks only mark ID
    attributes), and each caller gets its own copy of the list."""

    def __init__(
        self, settings: OneLogin_Saml2_Settings, response: bytes, *, allow_cbc: bool
    ) -> None:
        self._allow_cbc = allow_cbc  # read by _decrypt_assertion, called by the constructor
        self._found: dict[tuple[etree._Element, str, str | None], list[Any]] = {}
        super().__init__(settings, response)

    def _query(self, query: str, tagid: str | None = None) -> list[Any]:
        document = self.decrypted_document if self.encrypted else self.document
        key = (document, query, tagid)
        found = self._found.get(key)
        if found is None:
            variables = {} if tagid is None else {"tagid": tagid}
            nodes = _xpath(query)(document, **variables)
            found = self._found[key] = nodes if isinstance(nodes, list) else []
        return list(found)

    def _decrypt_assertion(self, xml: etree._Element) -> etree._Element:
        check_encryption_shapes(xml, allow_cbc=self._allow_cbc)
        result: etree._Element = super()._decrypt_assertion(xml)
        return result


def _xpath(query: str) -> etree.XPath:
    """`query` compiled once per thread, as `OneLogin_Saml2_XML.query` evaluates it
    (python3-saml's namespaces, `$tagid` as a variable): lxml compiled the expression again
    on every call. Per thread, because lxml documents an XPath evaluator's use from one
    thread at a time; the login's worker threads live long, so each compiles each
    expression once. The expressions are python3-saml's and ours, never a message's (its
    values only ever arrive as `$tagid`), so the cache is small; it is emptied past 256."""
    compiled: dict[str, etree.XPath] = _COMPILED.__dict__.setdefault("by_query", {})
    found = compiled.get(query)
    if found is None:
        if len(compiled) >= _MAX_COMPILED:
            compiled.clear()
        found = compiled[query] = etree.XPath(query, namespaces=C.NSMAP)
    return found


_COMPILED = threading.local()
_MAX_COMPILED = 256


def decode(saml_response: str | None) -> bytes:
    """S-39: cap, then strict base64 (python3-saml's decoder is lenient)."""
    if not saml_response:
        raise UpstreamInvalid(Reason.MISSING_RESPONSE, detail="no SAMLResponse in the POST")
    if len(saml_response) > MAX_SAML_RESPONSE_CHARS:
        raise UpstreamInvalid(Reason.RESPONSE_TOO_LARGE, detail=f"{len(saml_response)} characters")
    compact = "".join(saml_response.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamInvalid(Reason.MALFORMED, detail="SAMLResponse is not base64") from exc


def authenticate(
    saml_response: str | None,
    *,
    settings: OneLogin_Saml2_Settings,
    keys: Sequence[xmlsec.Key],
    expect: Expectations,
) -> Authenticated:
    """The response, its signatures verified under the pinned keys. Every refusal is an
    `UpstreamInvalid` (a non-success status an `UpstreamRejected`) raised by the check that
    fails; python3-saml's and xmlsec's own exceptions are caught where they are called."""
    raw = decode(saml_response)
    try:
        response = _Response(settings, base64.b64encode(raw), allow_cbc=expect.allow_cbc_encryption)
    except UpstreamError:
        raise  # our S-22 checks, run from inside python3-saml's constructor
    except Exception as exc:
        # DTDs, entities, malformed XML, failed decryption: one reason, so that decryption
        # failures are not an oracle. Only the IT admin's test report learns that
        # the assertion was encrypted, which is the usual cause (the IdP encrypts to
        # another certificate than Gatehouse's).
        facts = {"encrypted_assertion": "yes"} if b"EncryptedAssertion" in raw else None
        raise UpstreamInvalid(Reason.MALFORMED, detail=type(exc).__name__, facts=facts) from exc
    document: etree._Element = response.document
    if document.tag != _RESPONSE or document.get("Version") != "2.0" or not document.get("ID"):
        raise UpstreamInvalid(Reason.MALFORMED, detail="not a SAML 2.0 Response")
    _check_status(response)
    effective: etree._Element = response.get_xml_document()
    # The decrypted tree too: python3-saml decrypts an EncryptedID in it when asked for the
    # NameID, with the same permissive xmlsec context.
    for tree in {id(document): document, id(effective): effective}.values():
        check_ids(tree)
        check_signature_shapes(tree, allow_sha1=expect.allow_sha1)
        check_encryption_shapes(tree, allow_cbc=expect.allow_cbc_encryption)
    if not response.validate_num_assertions():
        count = len(response._query_assertion(""))
        raise UpstreamInvalid(
            Reason.WRONG_NUMBER_OF_ASSERTIONS,
            detail="exactly one assertion is allowed",
            facts={"assertion_count": str(count)},
        )
    if expect.require_encrypted_assertion and not response.encrypted:
        raise UpstreamInvalid(
            Reason.ENCRYPTION_REQUIRED,
            detail="the assertion arrived in clear",
            facts={"encrypted_assertion": "no"},
        )
    try:
        signed = response.process_signed_elements()
    except Exception as exc:
        raise UpstreamInvalid(Reason.BAD_SIGNATURE_STRUCTURE, detail=str(exc)) from exc
    schema = protocol_schema()
    if not schema.validate(document) or (
        response.encrypted and not schema.validate(response.decrypted_document)
    ):
        raise UpstreamInvalid(
            Reason.SCHEMA_INVALID, detail="not valid against the SAML protocol schema"
        )
    response_signed = _RESPONSE in signed
    assertion_signed = _ASSERTION in signed
    signatures = {
        "response_signed": "yes" if response_signed else "no",
        "assertion_signed": "yes" if assertion_signed else "no",
    }
    if not response_signed and not assertion_signed:
        raise UpstreamInvalid(
            Reason.UNSIGNED,
            detail="neither the response nor the assertion is signed",
            facts=signatures,
        )
    if expect.require_assertion_signature and not assertion_signed:
        raise UpstreamInvalid(
            Reason.ASSERTION_UNSIGNED,
            detail="the assertion itself must be signed",
            facts=signatures,
        )
    # Every signature present must verify: the envelope carries Destination, Status and
    # InResponseTo, so a broken Response signature fails the whole response even when the
    # assertion's own signature is good (the real Okta file in the shared test data).
    signed_with = []
    if response_signed:
        register_ids(document)
        signed_with.append(
            _verify_at(document, OneLogin_Saml2_Utils.RESPONSE_SIGNATURE_XPATH, keys, expect)
        )
    if assertion_signed:
        register_ids(effective)
        signed_with.append(
            _verify_at(effective, OneLogin_Saml2_Utils.ASSERTION_SIGNATURE_XPATH, keys, expect)
        )
    assertion = _signed_assertion(response)
    authenticated = Authenticated(
        response=response,
        assertion=assertion,
        response_signed=response_signed,
        assertion_id=assertion.get("ID") or "",
        # Long enough: after it, the age check refuses the assertion anyway (S-32, S-35).
        valid_until=expect.now + MAX_ASSERTION_AGE + 2 * expect.skew,
        signed_with=tuple(dict.fromkeys(signed_with)),
    )
    try:
        _check_issuers(response, document, expect, response_signed=response_signed)
    except UpstreamInvalid as exc:
        # Every signature verified with a pinned key: what the IdP signed may be shown.
        exc.evidence = evidence(authenticated)
        raise
    return authenticated


def evidence(authenticated: Authenticated) -> Evidence:
    """The verified (and, if it was encrypted, decrypted) response as indented XML, for a
    test report; built only when called. Capped: the report is stored as JSON."""

    def build() -> dict[str, object]:
        tree = copy.deepcopy(authenticated.response.get_xml_document())
        etree.indent(tree, space="  ")
        text = etree.tostring(tree, encoding="unicode")
        truncated = len(text) > MAX_EVIDENCE_CHARS
        return {"saml_xml": text[:MAX_EVIDENCE_CHARS], "saml_xml_truncated": truncated}

    return build


# -- the individual checks --------------------------------------------------------------


def _check_status(response: _Response) -> None:
    codes = [
        node.get("Value", "")
        for node in OneLogin_Saml2_XML.query(
            response.document, "/samlp:Response/samlp:Status//samlp:StatusCode"
        )
    ]
    if not codes:
        raise UpstreamInvalid(Reason.MALFORMED, detail="the response has no status")
    if codes[0] != _SUCCESS:
        # The IdP refused to sign the person in: its status codes are what a person is told
        # and the event records, its message (control characters blanked) only the report.
        messages = OneLogin_Saml2_XML.query(
            response.document, "/samlp:Response/samlp:Status/samlp:StatusMessage"
        )
        found = OneLogin_Saml2_XML.element_text(messages[0]) if messages else None
        message = _CONTROL.sub(" ", found or "")[:200]
        named = " / ".join(code.removeprefix(_STATUS_PREFIX) for code in codes)
        facts = {"status_code": named[:300]}
        if message:
            facts["status_message"] = message
        raise UpstreamRejected(named, detail=message, facts=facts)


def _signed_assertion(response: _Response) -> etree._Element:
    """The assertion every later check reads, found the way python3-saml's accessors find it:
    by the ID its signature references, or anywhere in the signed Response. Counted again
    after `validate_num_assertions` because those accessors, not that count over the whole
    document, decide what the later checks see."""
    assertions: list[etree._Element] = response._query_assertion("")
    if len(assertions) != 1:
        raise UpstreamInvalid(
            Reason.WRONG_NUMBER_OF_ASSERTIONS,
            detail="the signed assertion was not found",
            facts={"assertion_count": str(len(assertions))},
        )
    return assertions[0]


def _verify_at(
    tree: etree._Element, xpath: str, keys: Sequence[xmlsec.Key], expect: Expectations
) -> int:
    """The index of the pinned key the signature at `xpath` verifies under."""
    nodes = OneLogin_Saml2_XML.query(tree, xpath)
    if len(nodes) != 1:
        raise UpstreamInvalid(
            Reason.BAD_SIGNATURE_STRUCTURE, detail="signature not where it must be"
        )
    verified = verify_signature(nodes[0], keys, allow_sha1=expect.allow_sha1)
    if verified is None:
        raise UpstreamInvalid(
            Reason.SIGNATURE_INVALID,
            detail="no configured certificate verifies it",
            facts={
                **key_info_facts(nodes[0]),
                "trusted_fingerprints": trusted_fingerprints(expect.idp_certificates),
                "allow_sha1": "yes" if expect.allow_sha1 else "no",
            },
        )
    return verified


def _check_issuers(
    response: _Response, document: etree._Element, expect: Expectations, *, response_signed: bool
) -> None:
    """S-30. The assertion's Issuer is required; the Response's, when present, must agree."""
    assertion_issuers = response._query_assertion("/saml:Issuer")
    if len(assertion_issuers) != 1:
        raise UpstreamInvalid(Reason.WRONG_ISSUER, detail="the assertion must have one Issuer")
    found = [OneLogin_Saml2_XML.element_text(assertion_issuers[0])]
    envelope = OneLogin_Saml2_XML.query(document, "/samlp:Response/saml:Issuer")
    if len(envelope) > 1:
        raise UpstreamInvalid(Reason.WRONG_ISSUER, detail="several Issuers on the response")
    found += [OneLogin_Saml2_XML.element_text(node) for node in envelope]
    for issuer in found:
        if issuer != expect.idp_entity_id:
            raise UpstreamInvalid(
                Reason.WRONG_ISSUER,
                detail=f"issuer {issuer!r}",
                facts={"expected_issuer": expect.idp_entity_id, "actual_issuer": str(issuer)},
            )
    if response_signed and not envelope:
        raise UpstreamInvalid(
            Reason.WRONG_ISSUER,
            detail="a signed response must name its Issuer",
            facts={"expected_issuer": expect.idp_entity_id, "actual_issuer": "(none)"},
        )
