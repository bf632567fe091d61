"""Encrypted assertions: which algorithms decrypt, per connection (docs/security.md S-22).

Every content-encryption algorithm an IdP might use is crossed with every key transport, each
made by libxmlsec1 itself over a signed golden assertion, and posted to a connection with
AES-CBC refused (the default) and allowed. AES-GCM with RSA-OAEP is accepted everywhere;
AES-CBC only where the connection opted in; 3DES and RSA PKCS#1 v1.5 never. A refusal happens
before python3-saml hands anything to xmlsec (a spy on its decrypt function counts the calls),
carries a stable reason for the audit log, and shows the person the very page a bad
signature shows (X-03): which check failed is for the operator, not for whoever probes.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.login.refusals import upstream_refusal
from broker.upstream.base import UpstreamInvalid
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    CIPHERS,
    DS,
    KEY_TRANSPORTS,
    NS,
    SAML,
    XENC,
    XENC11,
    Cipher,
    Encryption,
    GoldenConnection,
    KeyTransport,
    Mutator,
    golden_response,
    golden_spec,
    q,
    serialize,
)
from tests.support.saml_golden_cases import accepted, refused, respond

CBC: dict[str, Any] = {"allow_cbc_encryption": True}
URIS = {
    "aes256-gcm": f"{XENC11}aes256-gcm",
    "aes128-gcm": f"{XENC11}aes128-gcm",
    "aes256-cbc": f"{XENC}aes256-cbc",
    "aes128-cbc": f"{XENC}aes128-cbc",
    "tripledes-cbc": f"{XENC}tripledes-cbc",
    "rsa-oaep-mgf1p": f"{XENC}rsa-oaep-mgf1p",
    "rsa-oaep": f"{XENC11}rsa-oaep",
    "rsa-1_5": f"{XENC}rsa-1_5",
}


@pytest.fixture
def decryptions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The algorithm of every EncryptedData python3-saml hands to xmlsec during the test."""
    seen: list[str] = []
    original = OneLogin_Saml2_Utils.decrypt_element

    def spy(encrypted_data: Any, key: Any, debug: bool = False, inplace: bool = False) -> Any:
        method = encrypted_data.find(q(XENC, "EncryptionMethod"))
        seen.append(method.get("Algorithm") if method is not None else "(none)")
        return original(encrypted_data, key, debug=debug, inplace=inplace)

    monkeypatch.setattr(OneLogin_Saml2_Utils, "decrypt_element", staticmethod(spy))
    return seen


def encrypted(
    connection: GoldenConnection,
    keys: IdpKeys,
    cipher: Cipher = "aes256-gcm",
    transport: KeyTransport = "rsa-oaep-mgf1p",
    *,
    to: GoldenConnection | None = None,
    before: Mutator | None = None,
) -> bytes:
    """A response signed at both levels whose signed assertion is encrypted to `to`'s (by
    default `connection`'s) SP certificate with these algorithms."""
    root = golden_response(
        golden_spec(connection),
        keys,
        sign="both",
        before_signing=before,
        encrypt=Encryption((to or connection).encryption_certificate, cipher, transport),
    )
    return serialize(root)


def expected_refusal(cipher: str, transport: str, *, allow_cbc: bool) -> str | None:
    """S-22's rule as a table: None means accepted."""
    if cipher.endswith("-cbc") and cipher != "tripledes-cbc" and not allow_cbc:
        return "cbc_not_enabled"
    if cipher == "tripledes-cbc" or transport == "rsa-1_5":
        return "weak_algorithm"
    return None


def page(error: UpstreamInvalid) -> tuple[str, str, int]:
    shown = upstream_refusal(error)
    return shown.title, shown.hint, shown.status


@pytest.fixture(scope="module")
def signature_page(golden_a: GoldenConnection, attacker_keys: IdpKeys) -> tuple[str, str, int]:
    """What the person sees when the signature is someone else's."""
    error = refused(golden_a, encrypted(golden_a, attacker_keys))
    assert error.reason == "signature_invalid"
    return page(error)


# -- the matrix ------------------------------------------------------------------------------


@pytest.mark.parametrize("allow_cbc", [False, True], ids=["cbc-off", "cbc-on"])
@pytest.mark.parametrize("transport", KEY_TRANSPORTS)
@pytest.mark.parametrize("cipher", list(CIPHERS))
def test_s22_algorithm_matrix(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    decryptions: list[str],
    signature_page: tuple[str, str, int],
    cipher: Cipher,
    transport: KeyTransport,
    allow_cbc: bool,
) -> None:
    data = encrypted(golden_a, idp_keys, cipher, transport)
    assert f'Algorithm="{URIS[cipher]}"'.encode() in data
    assert f'Algorithm="{URIS[transport]}"'.encode() in data
    options = CBC if allow_cbc else {}
    reason = expected_refusal(cipher, transport, allow_cbc=allow_cbc)
    if reason is None:
        accepted(golden_a, data, **options)
        assert decryptions == [URIS[cipher]]
        return
    error = refused(golden_a, data, **options)
    assert error.reason == reason
    assert decryptions == []  # refused from the algorithm URIs, before xmlsec decrypts
    assert page(error) == signature_page
    assert error.facts["encrypted_assertion"] == "yes"
    if reason == "cbc_not_enabled" or cipher == "tripledes-cbc":
        assert error.facts["encryption_algorithm"] == URIS[cipher]
        assert error.facts["allow_cbc_encryption"] == ("yes" if allow_cbc else "no")
    else:
        assert error.facts["key_transport_algorithm"] == URIS[transport]


def test_s22_rsa_oaep_of_xml_encryption_1_1_really_uses_sha256(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The control for the matrix's `rsa-oaep` column: the key was wrapped with SHA-256, so
    the same ciphertext claiming SHA-1 no longer decrypts (and is refused as undecryptable,
    not accepted some other way)."""
    data = encrypted(golden_a, idp_keys, "aes256-gcm", "rsa-oaep")
    assert f'<ds:DigestMethod Algorithm="{XENC}sha256"/>'.encode() in data
    accepted(golden_a, data)
    downgraded = data.replace(f"{XENC}sha256".encode(), b"http://www.w3.org/2000/09/xmldsig#sha1")
    assert refused(golden_a, downgraded).reason == "malformed"


def test_s22_an_explicit_xml_encryption_1_1_mgf_fails_the_protocol_schema(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """A limitation, pinned down: XML Encryption 1.1's `xenc11:MGF` (here the default,
    MGF1-SHA1, spelled out) is allowed by our pre-check, decrypts, and is then refused by the
    SAML protocol schema python3-saml bundles, which declares no XML Encryption 1.1 element.
    An IdP that sends it must leave MGF at its default (or use rsa-oaep-mgf1p)."""
    root = golden_response(
        golden_spec(golden_a),
        idp_keys,
        sign="assertion",
        encrypt=Encryption(golden_a.encryption_certificate, key_transport="rsa-oaep"),
    )
    _oaep_parameter(q(XENC11, "MGF"), f"{XENC11}mgf1sha1")(root)
    assert refused(golden_a, serialize(root)).reason == "schema_invalid"


# -- one answer for every failure of decryption or signature (X-03) ----------------------------


def _flip_ciphertext(data: bytes) -> bytes:
    """Change the last block of the content ciphertext: a CBC padding error, or garbage."""
    root = etree.fromstring(data)
    value = root.find(
        "saml:EncryptedAssertion/xenc:EncryptedData/xenc:CipherData/xenc:CipherValue", NS
    )
    raw = bytearray(base64.b64decode(value.text))
    raw[-1] ^= 0x5A
    value.text = base64.b64encode(bytes(raw)).decode()
    return serialize(root)


def test_s22_decryption_failures_look_like_signature_failures(
    golden_a: GoldenConnection,
    golden_b: GoldenConnection,
    idp_keys: IdpKeys,
    signature_page: tuple[str, str, int],
) -> None:
    """With CBC allowed, a padding error and a key meant for someone else get one reason and
    one set of facts (no padding oracle even in the IT admin's test report), and the person
    sees the page a foreign signature gets."""
    tampered = _flip_ciphertext(encrypted(golden_a, idp_keys, "aes256-cbc"))
    other_key = encrypted(golden_a, idp_keys, "aes256-cbc", to=golden_b)
    errors = [refused(golden_a, data, **CBC) for data in (tampered, other_key)]
    assert {e.reason for e in errors} == {"malformed"}
    assert errors[0].facts == errors[1].facts == {"encrypted_assertion": "yes"}
    assert {page(e) for e in errors} == {signature_page}


# -- shapes refused before decryption ----------------------------------------------------------


def _key_method(root: Any) -> Any:
    return root.find(".//xenc:EncryptedKey/xenc:EncryptionMethod", NS)


def _key_info(root: Any) -> Any:
    return root.find("saml:EncryptedAssertion/xenc:EncryptedData/ds:KeyInfo", NS)


def _add_to_key_info(tag: str) -> Mutator:
    def mutate(root: Any) -> None:
        etree.SubElement(_key_info(root), tag)

    return mutate


def _add_to_key_key_info(tag: str) -> Mutator:
    """`tag` in the EncryptedKey's own KeyInfo, where xmlsec looks for the key that unwraps
    the content key (a key agreement or derivation there would run before anything else)."""

    def mutate(root: Any) -> None:
        key = _key_info(root).find("xenc:EncryptedKey", NS)
        inner_info = key.find("ds:KeyInfo", NS)
        if inner_info is None:
            inner_info = etree.Element(q(DS, "KeyInfo"))
            key.find("xenc:EncryptionMethod", NS).addnext(inner_info)
        etree.SubElement(inner_info, tag)

    return mutate


def _repeat_encrypted_key(times: int) -> Mutator:
    def mutate(root: Any) -> None:
        key = _key_info(root).find("xenc:EncryptedKey", NS)
        for _ in range(times - 1):
            key.addnext(etree.fromstring(etree.tostring(key)))

    return mutate


def _nest_encrypted_key(root: Any) -> None:
    key = _key_info(root).find("xenc:EncryptedKey", NS)
    inner_info = key.find("ds:KeyInfo", NS)
    if inner_info is None:
        inner_info = etree.Element(q(DS, "KeyInfo"))
        key.insert(1, inner_info)
    inner_info.append(etree.fromstring(etree.tostring(key)))


def _oaep_parameter(tag: str, algorithm: str) -> Mutator:
    def mutate(root: Any) -> None:
        etree.SubElement(_key_method(root), tag, Algorithm=algorithm)

    return mutate


def _data_algorithm(algorithm: str | None) -> Mutator:
    def mutate(root: Any) -> None:
        method = root.find("saml:EncryptedAssertion/xenc:EncryptedData/xenc:EncryptionMethod", NS)
        if algorithm is None:
            method.getparent().remove(method)
        else:
            method.set("Algorithm", algorithm)

    return mutate


def _second_data_method(root: Any) -> None:
    data = root.find("saml:EncryptedAssertion/xenc:EncryptedData", NS)
    data.insert(0, etree.fromstring(etree.tostring(data.find("xenc:EncryptionMethod", NS))))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(_add_to_key_info(q(XENC, "AgreementMethod")), "bad_encryption_structure",
                     id="key-agreement"),
        pytest.param(_add_to_key_info(q(XENC11, "DerivedKey")), "bad_encryption_structure",
                     id="derived-key"),
        pytest.param(_add_to_key_info(q(DS, "X509Data")), "bad_encryption_structure",
                     id="other-keyinfo-child"),
        pytest.param(_add_to_key_key_info(q(XENC, "AgreementMethod")),
                     "bad_encryption_structure", id="key-agreement-for-the-key"),
        pytest.param(_add_to_key_key_info(q(XENC11, "DerivedKey")), "bad_encryption_structure",
                     id="derived-key-for-the-key"),
        pytest.param(_repeat_encrypted_key(5), "bad_encryption_structure", id="five-keys"),
        pytest.param(_nest_encrypted_key, "bad_encryption_structure", id="key-under-key"),
        pytest.param(_second_data_method, "bad_encryption_structure", id="two-data-methods"),
        pytest.param(_data_algorithm(None), "bad_encryption_structure", id="no-data-method"),
        pytest.param(_data_algorithm(f"{XENC11}aes192-gcm"), "weak_algorithm", id="aes192-gcm"),
        pytest.param(_data_algorithm(f"{XENC}kw-aes256"), "weak_algorithm", id="key-wrap-as-data"),
        pytest.param(_oaep_parameter(q(DS, "DigestMethod"),
                                     "http://www.w3.org/2001/04/xmldsig-more#md5"),
                     "weak_algorithm", id="oaep-md5"),
        pytest.param(_oaep_parameter(q(XENC11, "MGF"), f"{XENC11}mgf1sha256"),
                     "weak_algorithm", id="mgf-on-mgf1p"),
    ],
)  # fmt: skip
def test_s22_encryption_shapes_are_refused_before_decryption(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    decryptions: list[str],
    mutate: Mutator,
    reason: str,
) -> None:
    root = etree.fromstring(encrypted(golden_a, idp_keys))
    mutate(root)
    assert refused(golden_a, serialize(root), **CBC).reason == reason
    assert decryptions == []


def _cbc_encrypted_name_id(root: Any) -> None:
    """The assertion's NameID as an EncryptedID under AES-CBC (its content never matters:
    it must be refused before anything decrypts it)."""
    name_id = root.find(".//saml:Subject/saml:NameID", NS)
    encrypted_id = etree.Element(q(SAML, "EncryptedID"))
    data = etree.SubElement(encrypted_id, q(XENC, "EncryptedData"))
    etree.SubElement(data, q(XENC, "EncryptionMethod"), Algorithm=URIS["aes128-cbc"])
    cipher = etree.SubElement(data, q(XENC, "CipherData"))
    etree.SubElement(cipher, q(XENC, "CipherValue")).text = base64.b64encode(b"\0" * 32).decode()
    name_id.addprevious(encrypted_id)
    name_id.getparent().remove(name_id)


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain-assertion", "in-encrypted"])
def test_s22_a_cbc_encrypted_id_is_refused_too(
    golden_a: GoldenConnection, idp_keys: IdpKeys, decryptions: list[str], encrypt: bool
) -> None:
    """python3-saml decrypts an EncryptedID when asked for the NameID, with the same
    permissive context; inside an encrypted assertion it only appears once that is decrypted,
    so the decrypted tree is checked as well."""
    data = respond(golden_a, idp_keys, before=_cbc_encrypted_name_id, encrypt=encrypt)
    assert refused(golden_a, data).reason == "cbc_not_enabled"
    assert decryptions == ([URIS["aes256-gcm"]] if encrypt else [])


# -- what the SP metadata asks for -----------------------------------------------------------


def _encryption_methods(metadata: bytes) -> list[str]:
    valid = OneLogin_Saml2_XML.validate_xml(metadata, "saml-schema-metadata-2.0.xsd")
    assert not isinstance(valid, str), valid  # python3-saml answers a reason when invalid
    root = OneLogin_Saml2_XML.to_etree(metadata)
    [signing] = OneLogin_Saml2_XML.query(root, '//md:KeyDescriptor[@use="signing"]')
    assert OneLogin_Saml2_XML.query(signing, "./md:EncryptionMethod") == []
    return [
        method.get("Algorithm")
        for method in OneLogin_Saml2_XML.query(
            root, '//md:KeyDescriptor[@use="encryption"]/md:EncryptionMethod'
        )
    ]


def test_s22_sp_metadata_asks_for_gcm_and_oaep(golden_a: GoldenConnection) -> None:
    metadata = golden_a.open().connector.describe().body
    assert _encryption_methods(metadata) == [
        URIS["aes256-gcm"], URIS["aes128-gcm"], URIS["rsa-oaep-mgf1p"], URIS["rsa-oaep"],
    ]  # fmt: skip


def test_s22_sp_metadata_lists_cbc_after_gcm_when_allowed(golden_a: GoldenConnection) -> None:
    metadata = golden_a.open(**CBC).connector.describe().body
    assert _encryption_methods(metadata) == [
        URIS["aes256-gcm"], URIS["aes128-gcm"], URIS["aes256-cbc"], URIS["aes128-cbc"],
        URIS["rsa-oaep-mgf1p"], URIS["rsa-oaep"],
    ]  # fmt: skip
