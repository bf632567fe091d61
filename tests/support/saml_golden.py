"""Golden SAML responses: what a well-behaved IdP sends one of our connections.

The attacks of docs/security.md's SAML rows (S-01…S-43) are only meaningful against a response
that would otherwise be accepted, so this module makes that response the honest way: built with
the IdP simulator's `build_response`, signed with its xmlsec signer (exclusive c14n,
rsa-sha256), optionally with the assertion encrypted to the connection's SP encryption
certificate, and handed back re-parsed, as the attacker holds it. The attacks themselves
(mutators applied after signing, `before_signing` hooks, text-level payloads) live in
`tests.support.saml_mutators` and `tests.support.saml_mutators_wrapping`.

`GoldenConnection` is one SAML connection trusting the golden IdP key, its SP keys made once;
`GoldenConnection.open(**options)` gives a `GoldenSp`, a connector with a fixed clock and an
in-memory replay guard (connector-unit tests only; end-to-end tests use the real store).
`canary_server` is the loopback server an SSRF attempt would reach.
"""

from __future__ import annotations

import base64
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
from broker.keys import SecretBox
from broker.model.records import UpstreamIdentity
from broker.upstream.base import CallbackInput, ConnectorDeps, FlowContext, UpstreamInvalid
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.connector import SamlConnector
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.sp import open_sp_keys, python3_saml_settings
from broker.upstream.saml.xmlsig import load_verification_keys
from broker.upstream.urls import ConnectionEndpoints, endpoints_for
from idp_simulator.keys import IdpKeys
from idp_simulator.saml import signing
from idp_simulator.saml.metadata import metadata_xml
from idp_simulator.saml.response import ResponseSpec, build_response
from idp_simulator.saml.xmltools import to_bytes
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config

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


Cipher = Literal["aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc", "tripledes-cbc"]
KeyTransport = Literal["rsa-oaep-mgf1p", "rsa-oaep", "rsa-1_5"]


@dataclass(frozen=True)
class Encryption:
    """How to encrypt the assertion: to this certificate, with these algorithms.

    `rsa-oaep-mgf1p` is XML Encryption 1.0's OAEP (SHA-1 digest, MGF1-SHA1); `rsa-oaep` is
    XML Encryption 1.1's, here with a SHA-256 digest and the default MGF1-SHA1 (an explicit
    `xenc11:MGF` fails the SAML protocol schema python3-saml bundles, which has no XML
    Encryption 1.1 types)."""

    certificate_pem: str
    cipher: Cipher = "aes256-gcm"
    key_transport: KeyTransport = "rsa-oaep-mgf1p"


CIPHERS: dict[str, tuple[Any, Any, int]] = {
    "aes256-gcm": (xmlsec.constants.TransformAes256Gcm, xmlsec.constants.KeyDataAes, 256),
    "aes128-gcm": (xmlsec.constants.TransformAes128Gcm, xmlsec.constants.KeyDataAes, 128),
    "aes256-cbc": (xmlsec.constants.TransformAes256Cbc, xmlsec.constants.KeyDataAes, 256),
    "aes128-cbc": (xmlsec.constants.TransformAes128Cbc, xmlsec.constants.KeyDataAes, 128),
    "tripledes-cbc": (xmlsec.constants.TransformDes3Cbc, xmlsec.constants.KeyDataDes, 192),
}
KEY_TRANSPORTS: tuple[KeyTransport, ...] = ("rsa-oaep-mgf1p", "rsa-oaep", "rsa-1_5")


def _key_transport(key_info: Any, transport: KeyTransport) -> Any:
    """The EncryptedKey template. python-xmlsec names no constant for XML Encryption 1.1's
    `rsa-oaep`, but libxmlsec1 (1.3) implements it and reads the algorithm, digest and MGF
    from the template, so the 1.0 template is rewritten into the 1.1 one."""
    method = (
        xmlsec.constants.TransformRsaPkcs1
        if transport == "rsa-1_5"
        else xmlsec.constants.TransformRsaOaep
    )
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, method)
    if transport == "rsa-oaep":
        algorithm = encrypted_key.find(q(XENC, "EncryptionMethod"))
        algorithm.set("Algorithm", f"{XENC11}rsa-oaep")
        etree.SubElement(algorithm, q(DS, "DigestMethod"), Algorithm=f"{XENC}sha256")
    return encrypted_key


def encrypt_assertion(root: Any, encryption: Encryption) -> None:
    """Replace the (already signed) Assertion by a `saml:EncryptedAssertion` made with
    python-xmlsec: a fresh session key, wrapped for the SP certificate inside KeyInfo."""
    assertion = root.find(q(SAML, "Assertion"))
    cipher, key_data, bits = CIPHERS[encryption.cipher]
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
    encrypted_key = _key_transport(key_info, encryption.key_transport)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    wrapper = etree.Element(q(SAML, "EncryptedAssertion"))
    assertion.addprevious(wrapper)
    wrapper.append(assertion)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(key_data, bits, xmlsec.constants.KeyDataTypeSession)
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
