"""Attacks on golden responses that are not signature wrapping (SAML rows of docs/security.md).

Each attack is written in the form its threat requires. A *mutator* changes the tree after
signing, because comment, reference, transform and encryption attacks only matter once the
IdP's signature is already there; the same mutators double as `before_signing` hooks for
content an honest-but-odd IdP would sign (a missing Recipient, an error status). What a tree
cannot express (DOCTYPEs, entity tricks, absurd nesting) is a text-level payload on the
serialized bytes. Signature wrapping, the largest family, is in
`tests.support.saml_mutators_wrapping`.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import replace
from typing import Any

from lxml import etree

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.response import ResponseSpec
from tests.support.saml_golden import (
    ALICE,
    DS,
    EVIL,
    NS,
    SAML,
    XENC,
    XENC11,
    Mutator,
    golden_response,
    q,
)

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


# -- tree helpers and plain edits ---------------------------------------------------------


def assertion_of(root: Any) -> Any:
    found = root.find(q(SAML, "Assertion"))
    assert found is not None, "no direct saml:Assertion"
    return found


def signature_of(element: Any) -> Any:
    found = element.find(q(DS, "Signature"))
    assert found is not None, f"{element.tag} has no direct ds:Signature"
    return found


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


# -- text-level payloads: DOCTYPEs and nesting (S-25, S-26) -----------------------------------


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


def deep_nesting(xml: bytes, depth: int) -> bytes:
    """`depth` nested elements inside samlp:Extensions (S-26)."""
    nest = b"<x:a xmlns:x='urn:x'>" * depth + b"</x:a>" * depth
    return xml.replace(
        b"<samlp:Status>", b"<samlp:Extensions>" + nest + b"</samlp:Extensions><samlp:Status>", 1
    )
