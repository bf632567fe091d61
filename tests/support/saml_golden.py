"""Golden SAML responses, and the attacks on them (SECURITY-CATALOGUE §1, rows S-01…S-43).

A golden response is what a well-behaved IdP sends one of our connections: built with the IdP
simulator's `build_response`, signed with its xmlsec signer (exclusive c14n, rsa-sha256),
optionally with the assertion encrypted to the connection's SP encryption certificate. The
attacks are *mutators* applied after signing (that is the point of wrapping, comment and
reference attacks), `before_signing` hooks for content an honest-but-odd IdP would sign, and
text-level payloads for what a tree cannot express (DOCTYPEs).

`GoldenConnection` is one SAML connection trusting the golden IdP key, its SP keys made once;
`GoldenConnection.open(**options)` gives a `GoldenSp`, a connector with a fixed clock and an
in-memory replay guard (connector-unit tests only; end-to-end tests use the real store).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx
import xmlsec
from lxml import etree

from broker.clock import FixedClock
from broker.domain.model import UpstreamIdentity
from broker.keys import SecretBox
from broker.upstream.base import CallbackInput, ConnectorDeps, FlowContext, UpstreamInvalid
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.connector import SamlConnector
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.setup import new_saml_config
from broker.upstream.saml.sp import open_sp_keys, python3_saml_settings
from broker.upstream.saml.xmlsig import load_verification_keys
from broker.upstream.urls import ConnectionEndpoints, endpoints_for
from idp_simulator import signing
from idp_simulator.keys import IdpKeys
from idp_simulator.metadata import metadata_xml
from idp_simulator.response import ResponseSpec, build_response
from idp_simulator.xmltools import to_bytes
from tests.support.config import ISSUER, TEST_SECRET_KEY

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "xenc": XENC}

#: The FixedClock's default instant: golden responses are issued "now".
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
IDP_ENTITY_ID = "https://idp.golden.test/metadata"
IDP_SSO_URL = "https://idp.golden.test/sso"
ALICE = "alice@example.com"
#: What every wrapping attack tries to become: someone else in the same verified domain.
EVIL = "ceo@example.com"
REQUEST_ID = "_golden0000000000000000000000000000000001"
OTHER_REQUEST_ID = "_golden0000000000000000000000000000000002"
FLOW_ID = "flow_golden"

Sign = Literal["assertion", "response", "both", "none"]
Mutator = Callable[[Any], None]

#: Algorithm URIs used by the downgrade payloads (S-20).
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_MD5 = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
DSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
MD5 = "http://www.w3.org/2001/04/xmldsig-more#md5"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"


def q(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


# -- connections ----------------------------------------------------------------------------


class MemoryReplays:
    """An in-memory `ReplayGuard` for connector-unit tests (no expiry, no concurrency)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def first_use(self, scope: str, message_id: str, *, expires_at: datetime) -> bool:
        if (scope, message_id) in self.seen:
            return False
        self.seen.add((scope, message_id))
        return True


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the SAML connector made an HTTP request: {request.url}")


@dataclass(frozen=True)
class GoldenConnection:
    """A connection's stored settings (SP keys generated once) trusting the golden IdP."""

    stored: Mapping[str, object]
    endpoints: ConnectionEndpoints

    @property
    def acs_url(self) -> str:
        return self.endpoints.callback_url

    @property
    def entity_id(self) -> str:
        return self.endpoints.entity_id

    @property
    def encryption_certificate(self) -> str:
        pair = self.stored["sp_encryption"]
        assert isinstance(pair, Mapping)
        return str(pair["certificate_pem"])

    def config(self, **options: object) -> SamlConnectionConfig:
        return SamlConnectionConfig.parse({**self.stored, **options})

    def validation_inputs(self, **options: object) -> tuple[Any, tuple[Any, ...]]:
        """python3-saml settings and pinned keys, for calling `validate` directly, built the
        way the connector builds them."""
        config = self.config(**options)
        keys = open_sp_keys(config, SecretBox(TEST_SECRET_KEY), self.endpoints.connection_id)
        settings = python3_saml_settings(
            config,
            self.endpoints,
            private_key_pem=keys.encryption_key_pem,
            certificate_pem=keys.encryption_cert_pem,
        )
        return settings, load_verification_keys(config.idp_certificates)

    def open(self, *, now: datetime = NOW, replays: Any = None, **options: object) -> GoldenSp:
        """A connector for this connection with `options` changed (any stored field)."""
        config = self.config(**options)
        deps = ConnectorDeps(
            http=httpx.Client(transport=httpx.MockTransport(_no_network)),
            clock=FixedClock(now),
            secrets=SecretBox(TEST_SECRET_KEY),
            replays=replays if replays is not None else MemoryReplays(),
        )
        connector = config.open(deps, self.endpoints)
        assert isinstance(connector, SamlConnector)
        return GoldenSp(connection=self, connector=connector)


@dataclass(frozen=True)
class GoldenSp:
    connection: GoldenConnection
    connector: SamlConnector

    def login(
        self, saml_response: str, *, request_id: str = REQUEST_ID, relay_state: str = FLOW_ID
    ) -> UpstreamIdentity:
        """POST `saml_response` into the flow whose AuthnRequest was `request_id`."""
        flow = FlowContext(
            flow_id=FLOW_ID,
            connection_id=self.connection.endpoints.connection_id,
            callback_url=self.connection.acs_url,
            connector_state=request_id.encode(),
        )
        form = {"SAMLResponse": saml_response, "RelayState": relay_state}
        return self.connector.complete_login(flow, CallbackInput(form=form))

    def refusal(self, saml_response: str, *, request_id: str = REQUEST_ID) -> UpstreamInvalid:
        """The UpstreamInvalid the login raises; fails the test if it succeeds."""
        try:
            identity = self.login(saml_response, request_id=request_id)
        except UpstreamInvalid as exc:
            return exc
        raise AssertionError(f"accepted: {identity}")

    def reason(self, saml_response: str, *, request_id: str = REQUEST_ID) -> str:
        return self.refusal(saml_response, request_id=request_id).reason


def golden_metadata(keys: IdpKeys) -> bytes:
    return metadata_xml(IDP_ENTITY_ID, IDP_SSO_URL, keys)


def make_connection(
    keys: IdpKeys, connection_id: str, *, options: Mapping[str, object] | None = None
) -> GoldenConnection:
    """A connection configured from the golden IdP's metadata, as an admin would make it."""
    endpoints = endpoints_for(ISSUER, connection_id, "saml")
    stored = new_saml_config(
        parse_idp_metadata(golden_metadata(keys)),
        box=SecretBox(TEST_SECRET_KEY),
        endpoints=endpoints,
        now=NOW,
        options={"clock_skew_seconds": 120, **(options or {})},
    )
    return GoldenConnection(stored=stored, endpoints=endpoints)


# -- golden responses -----------------------------------------------------------------------


def golden_spec(
    connection: GoldenConnection,
    *,
    now: datetime = NOW,
    request_id: str | None = REQUEST_ID,
    **changes: Any,
) -> ResponseSpec:
    """Alice's good response to `request_id` for `connection`, valid for five minutes."""
    spec = ResponseSpec(
        issuer=IDP_ENTITY_ID,
        destination=connection.acs_url,
        audience=connection.entity_id,
        recipient=connection.acs_url,
        in_response_to=request_id,
        name_id=ALICE,
        attributes={
            "email": (ALICE,),
            "firstName": ("Alice",),
            "lastName": ("Example",),
            "groups": ("engineering", "admins"),
        },
        issue_instant=now,
        not_before=now - timedelta(seconds=60),
        not_on_or_after=now + timedelta(minutes=5),
        subject_confirmation_not_on_or_after=now + timedelta(minutes=5),
        authn_instant=now,
    )
    return replace(spec, **changes)


#: The simulator's two algorithms, and mixes no honest IdP uses, to isolate one check each.
Algorithm = Literal["rsa-sha256", "rsa-sha1", "rsa-sha1+sha256-digest", "rsa-sha256+sha1-digest"]
_SIGNING_TRANSFORMS = {
    "rsa-sha256": (xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha256),
    "rsa-sha1": (xmlsec.constants.TransformRsaSha1, xmlsec.constants.TransformSha1),
    "rsa-sha1+sha256-digest": (
        xmlsec.constants.TransformRsaSha1,
        xmlsec.constants.TransformSha256,
    ),
    "rsa-sha256+sha1-digest": (
        xmlsec.constants.TransformRsaSha256,
        xmlsec.constants.TransformSha1,
    ),
}


def sign_element(element: Any, keys: IdpKeys, *, algorithm: Algorithm) -> None:
    """The simulator's signer; or, for an element that has lost its Issuer (S-30) or an
    algorithm mix the simulator does not make (S-20), the same enveloped signature made here
    (after the Issuer if there is one, else as the first child)."""
    issuer = element.find(q(SAML, "Issuer"))
    if issuer is not None and algorithm in ("rsa-sha256", "rsa-sha1"):
        signing.sign(element, keys, algorithm=algorithm)
        return
    sign_method, digest_method = _SIGNING_TRANSFORMS[algorithm]
    template = xmlsec.template.create(
        element, xmlsec.constants.TransformExclC14N, sign_method, ns="ds"
    )
    if issuer is not None:
        issuer.addnext(template)
    else:
        element.insert(0, template)
    reference = xmlsec.template.add_reference(template, digest_method, uri=f"#{element.get('ID')}")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    xmlsec.template.x509_data_add_certificate(
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(template))
    )
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    key = xmlsec.Key.from_memory(keys.private_key_pem, xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_memory(keys.certificate_pem, xmlsec.constants.KeyDataFormatCertPem)
    context.key = key
    context.sign(template)


@dataclass(frozen=True)
class Encryption:
    """How to encrypt the assertion: to this certificate, with these algorithms."""

    certificate_pem: str
    cipher: Literal["aes256-gcm", "aes128-gcm", "aes256-cbc"] = "aes256-gcm"
    key_transport: Literal["rsa-oaep", "rsa-1_5"] = "rsa-oaep"


_CIPHERS = {
    "aes256-gcm": (xmlsec.constants.TransformAes256Gcm, 256),
    "aes128-gcm": (xmlsec.constants.TransformAes128Gcm, 128),
    "aes256-cbc": (xmlsec.constants.TransformAes256Cbc, 256),
}
_KEY_TRANSPORTS = {
    "rsa-oaep": xmlsec.constants.TransformRsaOaep,
    "rsa-1_5": xmlsec.constants.TransformRsaPkcs1,
}


def encrypt_assertion(root: Any, encryption: Encryption) -> None:
    """Replace the (already signed) Assertion by a `saml:EncryptedAssertion` made with
    python-xmlsec: a fresh session key, wrapped for the SP certificate inside KeyInfo."""
    assertion = root.find(q(SAML, "Assertion"))
    cipher, bits = _CIPHERS[encryption.cipher]
    manager = xmlsec.KeysManager()
    manager.add_key(
        xmlsec.Key.from_memory(
            encryption.certificate_pem.encode(), xmlsec.constants.KeyDataFormatCertPem
        )
    )
    template = xmlsec.template.encrypted_data_create(
        root, cipher, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(
        key_info, _KEY_TRANSPORTS[encryption.key_transport]
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    wrapper = etree.Element(q(SAML, "EncryptedAssertion"))
    assertion.addprevious(wrapper)
    wrapper.append(assertion)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, bits, xmlsec.constants.KeyDataTypeSession
    )
    context.encrypt_xml(template, assertion)


def golden_response(
    spec: ResponseSpec,
    keys: IdpKeys,
    *,
    sign: Sign = "both",
    algorithm: Algorithm = "rsa-sha256",
    before_signing: Mutator | None = None,
    encrypt: Encryption | None = None,
) -> Any:
    """The signed Response tree: assertion signed first, then (optionally) encrypted, then the
    Response signed over the result, the order IdPs use."""
    root = build_response(spec)
    if before_signing is not None:
        before_signing(root)
    if sign in ("assertion", "both"):
        for assertion in root.findall(q(SAML, "Assertion")):
            sign_element(assertion, keys, algorithm=algorithm)
    if encrypt is not None:
        encrypt_assertion(root, encrypt)
    if sign in ("response", "both"):
        sign_element(root, keys, algorithm=algorithm)
    return reparse(serialize(root))


def reparse(xml: bytes) -> Any:
    """The bytes as an attacker holds them, parsed again. Also needed for correctness: nodes
    python-xmlsec creates are not found by lxml's `iter`/`find` until a round trip."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.fromstring(xml, parser)


def serialize(root: Any) -> bytes:
    return to_bytes(root)


def encode(document: Any) -> str:
    """The SAMLResponse form field: base64 of the serialized tree (or of bytes as given)."""
    data = document if isinstance(document, bytes) else serialize(document)
    return base64.b64encode(data).decode("ascii")


# -- tree helpers ---------------------------------------------------------------------------


def assertion_of(root: Any) -> Any:
    found = root.find(q(SAML, "Assertion"))
    assert found is not None, "no direct saml:Assertion"
    return found


def signature_of(element: Any) -> Any:
    found = element.find(q(DS, "Signature"))
    assert found is not None, f"{element.tag} has no direct ds:Signature"
    return found


def first_signature(root: Any) -> Any:
    """The first ds:Signature in document order (SAML Raider's `getElementsByTagNameNS`)."""
    return next(root.iter(q(DS, "Signature")))


def make_evil(element: Any) -> None:
    """Become someone else: NameID and email attribute say EVIL."""
    for name_id in element.iter(q(SAML, "NameID")):
        name_id.text = EVIL
    for attribute in element.iter(q(SAML, "Attribute")):
        if attribute.get("Name") == "email":
            for value in attribute.iter(q(SAML, "AttributeValue")):
                value.text = EVIL


def without_signature(element: Any) -> Any:
    """A deep copy of `element` with its own direct ds:Signature removed."""
    clone = copy.deepcopy(element)
    for signature in clone.findall(q(DS, "Signature")):
        clone.remove(signature)
    return clone


def set_status(code: str) -> Mutator:
    def mutate(root: Any) -> None:
        root.find("samlp:Status/samlp:StatusCode", NS).set("Value", code)

    return mutate


def remove(path: str) -> Mutator:
    """Remove every element at `path` (ElementPath with the NS prefixes) under the root."""

    def mutate(root: Any) -> None:
        for element in root.findall(path, NS):
            element.getparent().remove(element)

    return mutate


def set_attribute(path: str, name: str, value: str | None) -> Mutator:
    """Set (or, with None, delete) attribute `name` on the element at `path` ("." = root)."""

    def mutate(root: Any) -> None:
        element = root if path == "." else root.find(path, NS)
        if value is None:
            element.attrib.pop(name, None)
        else:
            element.set(name, value)

    return mutate


# -- XML signature wrapping (SAML Raider XSWHelpers.applyXSW1…8; S-01…S-08) ------------------


def xsw1(root: Any) -> None:
    """Signed Response: an unsigned copy of it goes *inside* its ds:Signature; the outer
    Response becomes evil and gets a new ID."""
    clone = copy.deepcopy(root)
    clone_signature = first_signature(clone)
    clone_signature.getparent().remove(clone_signature)
    make_evil(root)
    first_signature(root).append(clone)
    root.set("ID", "_evil_response_ID")


def xsw2(root: Any) -> None:
    """As XSW1, but the copy is inserted as a sibling right before the Signature."""
    clone = copy.deepcopy(root)
    clone_signature = first_signature(clone)
    clone_signature.getparent().remove(clone_signature)
    make_evil(root)
    first_signature(root).addprevious(clone)
    root.set("ID", "_evil_response_ID")


def xsw3(root: Any) -> None:
    """Signed Assertion: an unsigned evil copy with a new ID inserted before it."""
    assertion = assertion_of(root)
    evil = without_signature(assertion)
    make_evil(evil)
    evil.set("ID", "_evil_assertion_ID")
    assertion.addprevious(evil)


def xsw4(root: Any) -> None:
    """The evil copy is appended to the Response and the signed Assertion moved inside it."""
    assertion = assertion_of(root)
    evil = without_signature(assertion)
    make_evil(evil)
    evil.set("ID", "_evil_assertion_ID")
    root.append(evil)
    evil.append(assertion)


def xsw5(root: Any) -> None:
    """The Assertion in place turns evil (keeping the copied Signature, new ID); a pristine
    unsigned copy is appended to the Response."""
    evil = assertion_of(root)
    pristine = without_signature(evil)
    make_evil(evil)
    root.append(pristine)
    evil.set("ID", "_evil_assertion_ID")


def xsw6(root: Any) -> None:
    """The Assertion in place turns evil (new ID); the pristine unsigned copy goes inside its
    Signature."""
    evil = assertion_of(root)
    original_signature = signature_of(evil)
    pristine = without_signature(evil)
    make_evil(evil)
    original_signature.append(pristine)
    evil.set("ID", "_evil_assertion_ID")


def xsw7(root: Any) -> None:
    """An `Extensions` element (no namespace, as SAML Raider's createElement makes it) before
    the Assertion holds an evil unsigned copy."""
    assertion = assertion_of(root)
    extensions = etree.Element("Extensions")
    assertion.addprevious(extensions)
    evil = without_signature(assertion)
    make_evil(evil)
    extensions.append(evil)


def xsw7_samlp_extensions(root: Any) -> None:
    """XSW7 with a schema-legal `samlp:Extensions` (after the Issuer/Signature, before Status)."""
    assertion = assertion_of(root)
    extensions = etree.Element(q(SAMLP, "Extensions"))
    root.find("samlp:Status", NS).addprevious(extensions)
    evil = without_signature(assertion)
    make_evil(evil)
    extensions.append(evil)


def xsw8(root: Any) -> None:
    """The Assertion in place turns evil (same ID, keeps its Signature); the pristine copy goes
    in an `Object` element appended to that Signature."""
    evil = assertion_of(root)
    original_signature = signature_of(evil)
    pristine = without_signature(evil)
    make_evil(evil)
    holder = etree.SubElement(original_signature, "Object")
    holder.append(pristine)


# -- newer wrapping shapes (S-09, S-10, S-12) ------------------------------------------------


def append_unsigned_assertion(root: Any) -> None:
    """CVE-2022-41912 (crewjam/saml): an unsigned evil copy appended after the signed one."""
    assertion = assertion_of(root)
    evil = without_signature(assertion)
    make_evil(evil)
    evil.set("ID", assertion.get("ID") + "_attack")
    root.append(evil)


def assertion_in_ds_object(root: Any) -> None:
    """SAML Raider XSW10 / CVE-2025-23369 without its DOCTYPE: the Response signature
    replaced by a copy of the Assertion's, carrying in a ds:Object a pristine copy of the
    Assertion; the Assertion in place turns evil, loses its Signature and gets ID + "ffff"."""
    assertion = assertion_of(root)
    response_signature = root.find(q(DS, "Signature"))
    if response_signature is not None:
        root.remove(response_signature)
    moved = copy.deepcopy(signature_of(assertion))
    root.find(q(SAML, "Issuer")).addnext(moved)
    holder = etree.SubElement(moved, q(DS, "Object"))
    holder.append(copy.deepcopy(assertion))
    assertion.remove(signature_of(assertion))
    make_evil(assertion)
    assertion.set("ID", assertion.get("ID") + "ffff")


def relocate_assertion_signature(root: Any) -> None:
    """The Assertion's Signature moved out of it, to the Response (after its Issuer), where its
    Reference no longer points at its parent; the Assertion turns evil."""
    assertion = assertion_of(root)
    signature = signature_of(assertion)
    assertion.remove(signature)
    root.find(q(SAML, "Issuer")).addnext(signature)
    make_evil(assertion)


def namespaced_id(root: Any) -> None:
    """ "The Fragile Lock": an evil unsigned Assertion before the real one carries the signed
    ID as `x:ID`, which libxmlsec1 registers by local name, first in document order."""
    assertion = assertion_of(root)
    evil = without_signature(assertion)
    make_evil(evil)
    evil.set("ID", "_evil_assertion_ID")
    evil.set("{urn:example:evil}ID", assertion.get("ID"))
    assertion.addprevious(evil)


def duplicate_id_before_assertion(root: Any) -> None:
    """A non-SAML element before the Assertion claims the Assertion's ID (first one wins in
    libxmlsec1's ID table)."""
    extensions = etree.Element(q(SAMLP, "Extensions"))
    root.find("samlp:Status", NS).addprevious(extensions)
    decoy = etree.SubElement(extensions, "{urn:example:evil}Decoy")
    decoy.set("ID", assertion_of(root).get("ID"))


def _exc_c14n_digest(element: Any) -> str:
    data = etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def forged_signed_info_in_extensions(root: Any) -> None:
    """CVE-2024-45409 shape (S-10): the Assertion turns evil; a SignedInfo whose DigestValue is
    recomputed over the evil Assertion is planted in samlp:Extensions, hoping the verifier
    reads the digest from there."""
    assertion = assertion_of(root)
    make_evil(assertion)
    forged = copy.deepcopy(signature_of(assertion).find(q(DS, "SignedInfo")))
    forged.find(f"{q(DS, 'Reference')}/{q(DS, 'DigestValue')}").text = _exc_c14n_digest(
        without_signature(assertion)
    )
    extensions = etree.Element(q(SAMLP, "Extensions"))
    root.find("samlp:Status", NS).addprevious(extensions)
    extensions.append(forged)


def signature_in_status_detail(root: Any) -> None:
    """CVE-2025-25292 without its DOCTYPE (S-12): real signatures moved out, a forged one
    (digest of the empty string) in the evil Assertion, and the real Assertion signature
    copied un-namespaced into StatusDetail. Add `nonuri_namespace` and the DOCTYPE for the
    full recipe."""
    assertion = assertion_of(root)
    original = signature_of(assertion)
    for signature in list(root.iter(q(DS, "Signature"))):
        signature.getparent().remove(signature)
    forged = copy.deepcopy(original)
    empty = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")
    for digest in forged.iter(q(DS, "DigestValue")):
        digest.text = empty
    assertion.find(q(SAML, "Issuer")).addnext(forged)
    make_evil(assertion)
    status = root.find("samlp:Status", NS)
    detail = etree.SubElement(status, q(SAMLP, "StatusDetail"))
    bare = etree.SubElement(detail, "Signature")
    for child in original:
        bare.append(copy.deepcopy(child))


def nonuri_namespace(xml: bytes) -> bytes:
    """CVE-2025-25292's invalid namespace URI `http://example.com\\u0080`, declared on the
    Assertion (lxml's API refuses to declare it, so this works on the text)."""
    declaration = ' xmlns:example="http://example.com\u0080"'.encode()
    return xml.replace(b"<saml:Assertion ", b"<saml:Assertion" + declaration + b" ", 1)


# -- comments (S-14) --------------------------------------------------------------------------


def comment_split(suffix: str) -> Mutator:
    """`alice@example.com.evil.test` becomes `alice@example.com<!---->.evil.test` in the NameID
    and the email attribute: exclusive c14n without comments is unchanged, so the signatures
    still verify; a reader stopping at the comment would see `alice@example.com`."""

    def split(element: Any) -> None:
        text: str = element.text or ""
        if not text.endswith(suffix):
            return
        element.text = text[: -len(suffix)]
        comment = etree.Comment("")
        comment.tail = suffix
        element.append(comment)

    def mutate(root: Any) -> None:
        for name_id in root.iter(q(SAML, "NameID")):
            split(name_id)
        for value in root.iter(q(SAML, "AttributeValue")):
            split(value)

    return mutate


# -- references, transforms and algorithms (S-20, S-21) ---------------------------------------


def extra_reference(uri: str) -> Mutator:
    """A second ds:Reference in the Assertion signature's SignedInfo, pointing at `uri`."""

    def mutate(root: Any) -> None:
        signed_info = signature_of(assertion_of(root)).find(q(DS, "SignedInfo"))
        reference = etree.SubElement(signed_info, q(DS, "Reference"), URI=uri)
        etree.SubElement(reference, q(DS, "DigestMethod"), Algorithm=SHA256)
        etree.SubElement(reference, q(DS, "DigestValue")).text = base64.b64encode(
            b"\0" * 32
        ).decode()

    return mutate


def reference_uri(uri: str) -> Mutator:
    """The Assertion signature's only Reference repointed at `uri`."""

    def mutate(root: Any) -> None:
        signature_of(assertion_of(root)).find(f".//{q(DS, 'Reference')}").set("URI", uri)

    return mutate


def xslt_transform(canary_url: str) -> Mutator:
    """An XSLT transform on the Assertion's Reference: a CPU-heavy template that would also
    `document()` the canary."""
    stylesheet = (
        '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">'
        '<xsl:template match="/">'
        f"<xsl:copy-of select=\"document('{canary_url}')\"/>"
        '<xsl:for-each select="//node()"><xsl:for-each select="//node()">'
        '<xsl:value-of select="."/></xsl:for-each></xsl:for-each>'
        "</xsl:template></xsl:stylesheet>"
    )
    return _add_transform(XSLT, etree.fromstring(stylesheet))


def xpath_transform() -> Mutator:
    """An XPath filter transform (`ds:XPath`) on the Assertion's Reference."""
    xpath = etree.Element(q(DS, "XPath"))
    xpath.text = "count(//. | //@* | //namespace::*) > 0"
    return _add_transform(XPATH, xpath)


def _add_transform(algorithm: str, content: Any) -> Mutator:
    def mutate(root: Any) -> None:
        transforms = signature_of(assertion_of(root)).find(f".//{q(DS, 'Transforms')}")
        transform = etree.SubElement(transforms, q(DS, "Transform"), Algorithm=algorithm)
        transform.append(copy.deepcopy(content))

    return mutate


def key_info_retrieval_method(uri: str) -> Mutator:
    """`ds:RetrievalMethod` in the Assertion signature's KeyInfo, pointing at `uri`."""

    def mutate(root: Any) -> None:
        key_info = signature_of(assertion_of(root)).find(q(DS, "KeyInfo"))
        etree.SubElement(key_info, q(DS, "RetrievalMethod"), URI=uri)

    return mutate


def drop_key_info(root: Any) -> None:
    """Every ds:KeyInfo removed: the pinned certificate must suffice (S-18, real-IdP
    `no-certificate`)."""
    for key_info in list(root.iter(q(DS, "KeyInfo"))):
        key_info.getparent().remove(key_info)


def set_algorithm(local: str, uri: str) -> Mutator:
    """Rewrite every `ds:<local>/@Algorithm` (SignatureMethod, DigestMethod, ...) to `uri`."""

    def mutate(root: Any) -> None:
        for element in root.iter(q(DS, local)):
            element.set("Algorithm", uri)

    return mutate


# -- encryption payloads (S-22, S-23) ---------------------------------------------------------


def cipher_reference(uri: str) -> Mutator:
    """The EncryptedAssertion's ciphertext replaced by an `xenc:CipherReference` to `uri`."""

    def mutate(root: Any) -> None:
        data = root.find("saml:EncryptedAssertion/xenc:EncryptedData", NS)
        cipher_data = data.find(q(XENC, "CipherData"))
        for child in list(cipher_data):
            cipher_data.remove(child)
        etree.SubElement(cipher_data, q(XENC, "CipherReference"), URI=uri)

    return mutate


def encrypted_key_retrieval_method(uri: str) -> Mutator:
    """The inline EncryptedKey replaced by a ds:RetrievalMethod to `uri`."""

    def mutate(root: Any) -> None:
        key_info = root.find("saml:EncryptedAssertion/xenc:EncryptedData/ds:KeyInfo", NS)
        for child in list(key_info):
            key_info.remove(child)
        etree.SubElement(key_info, q(DS, "RetrievalMethod"), URI=uri, Type=f"{XENC}EncryptedKey")

    return mutate


def encrypted_attribute(root: Any) -> None:
    """An `saml:EncryptedAttribute` (well-formed, AES-GCM, opaque) in the AttributeStatement."""
    statement = root.find(".//saml:AttributeStatement", NS)
    attribute = etree.SubElement(statement, q(SAML, "EncryptedAttribute"))
    data = etree.SubElement(attribute, q(XENC, "EncryptedData"))
    etree.SubElement(data, q(XENC, "EncryptionMethod"), Algorithm=f"{XENC11}aes256-gcm")
    cipher = etree.SubElement(data, q(XENC, "CipherData"))
    etree.SubElement(cipher, q(XENC, "CipherValue")).text = base64.b64encode(b"\0" * 48).decode()


def xinclude(href: str) -> Mutator:
    """An `xi:include` of `href` in the NameID (S-25): nothing may ever process it."""

    def mutate(root: Any) -> None:
        name_id = root.find(".//saml:NameID", NS)
        name_id.text = ""
        etree.SubElement(
            name_id, "{http://www.w3.org/2001/XInclude}include", href=href, parse="text"
        )

    return mutate


def add_plain_assertion(spec: ResponseSpec, keys: IdpKeys) -> Mutator:
    """A second, plaintext (signed) Assertion next to the EncryptedAssertion."""

    def mutate(root: Any) -> None:
        other = golden_response(replace(spec, assertion_id="_plain_" + spec.assertion_id[1:]), keys)
        plain = assertion_of(other)
        root.append(plain)

    return mutate


def second_signed_assertion(spec: ResponseSpec, keys: IdpKeys) -> Mutator:
    """Another validly signed Assertion (own ID, evil subject) appended (S-24)."""

    def mutate(root: Any) -> None:
        evil_spec = replace(spec, assertion_id="_second_" + spec.assertion_id[1:], name_id=EVIL)
        other = golden_response(evil_spec, keys, sign="assertion")
        root.append(assertion_of(other))

    return mutate


# -- text-level payloads: DOCTYPEs (S-11, S-12, S-25, S-26) ------------------------------------


def with_doctype(xml: bytes, doctype: str, *, name_id: str | None = None) -> bytes:
    """`doctype` inserted after the XML declaration; the NameID text optionally replaced by
    `name_id` (an entity reference)."""
    head, _, body = xml.partition(b"?>")
    if name_id is not None:
        body = body.replace(
            f">{ALICE}</saml:NameID>".encode(), f">{name_id}</saml:NameID>".encode()
        )
    return head + b"?>" + doctype.encode() + body


def xxe_file(xml: bytes) -> bytes:
    return with_doctype(
        xml,
        '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        name_id="&xxe;",
    )


def xxe_parameter_entity(xml: bytes, url: str) -> bytes:
    return with_doctype(
        xml,
        f'<!DOCTYPE samlp:Response [<!ENTITY % remote SYSTEM "{url}"> %remote;]>',
    )


def external_dtd(xml: bytes, url: str) -> bytes:
    return with_doctype(xml, f'<!DOCTYPE samlp:Response SYSTEM "{url}">')


def billion_laughs(xml: bytes) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return with_doctype(xml, f"<!DOCTYPE samlp:Response [{''.join(entities)}]>", name_id="&lol9;")


def cve_2025_25291(original: bytes, evil: bytes) -> bytes:
    """ruby-saml's parser differential: REXML sees `evil` (the comment-hidden part is
    CDATA to it), Nokogiri sees the signed `original`."""
    end_tag = b"</samlp:Response>"

    def body(xml: bytes) -> bytes:
        return xml.partition(b"?>")[2].split(end_tag)[0]

    return (
        b"<!DOCTYPE response SYSTEM 'x\"><!--'>\n"
        + body(evil)
        + b"<![CDATA[-->\n"
        + body(original)
        + b"<!--]]>-->\n"
        + end_tag
    )


def cve_2025_25292_doctype(xml: bytes) -> bytes:
    return with_doctype(
        xml,
        "<!DOCTYPE Response [<!ATTLIST Signature xmlns CDATA #FIXED "
        '"http://www.w3.org/2000/09/xmldsig#" xmlns CDATA "block">]>',
    )


def cve_2025_23369_doctype(root: Any) -> bytes:
    """XSW10 with its entity trick: the Response ID and the Object's Assertion ID are built
    from entities so an ID-uniqueness check on the raw text is fooled."""
    assertion_in_ds_object(root)
    hidden = root.find(f"{q(DS, 'Signature')}/{q(DS, 'Object')}/{q(SAML, 'Assertion')}")
    hidden_id = hidden.get("ID")
    root.set("ID", "IDVIAENTITY")
    hidden.set("ID", "BYPASS" + hidden_id)
    xml = serialize(root)
    xml = xml.replace(b'ID="IDVIAENTITY"', b'ID="&idViaEntity;"').replace(
        b'ID="BYPASS', b'ID="&BypassIDUniqueness;'
    )
    return with_doctype(
        xml,
        f'<!DOCTYPE response [<!ENTITY idViaEntity "{hidden_id}">'
        '<!ENTITY BypassIDUniqueness "&#x50;">]>',
    )


def deep_nesting(xml: bytes, depth: int) -> bytes:
    """`depth` nested elements inside samlp:Extensions (S-26)."""
    nest = b"<x:a xmlns:x='urn:x'>" * depth + b"</x:a>" * depth
    return xml.replace(
        b"<samlp:Status>", b"<samlp:Extensions>" + nest + b"</samlp:Extensions><samlp:Status>", 1
    )


# -- the SSRF canary ---------------------------------------------------------------------------


@dataclass
class Canary:
    """A loopback HTTP server that records every request it gets (it answers 200 with a
    tiny body, so a fetch that happened is never mistaken for a failed one)."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextmanager
def canary_server() -> Iterator[Canary]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b"<x/>"
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Canary(url=f"http://127.0.0.1:{server.server_address[1]}", hits=hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def certificates(*keys: IdpKeys) -> list[str]:
    return [k.certificate_pem.decode() for k in keys]
