"""XML signature hygiene around python3-saml and libxmlsec1 (encryption: `xmlenc.py`).

python3-saml checks which elements are signed and that the first Reference points at them;
libxmlsec1 then dereferences *every* Reference and runs every transform before it looks at
the SignatureValue (docs/security.md, "libxmlsec1", and S-21). So before any signature work we check
the shape of every `ds:Signature` ourselves (one Reference to the parent's own ID, allow-listed
algorithms and transforms only, nothing that points outside the document), and we verify with
our own xmlsec context that has only those transforms enabled and only the pinned
certificates as keys: `KeyInfo` in the message is never a trust anchor (S-18).

All checks read the one tree python3-saml parsed; nothing here parses XML (S-40).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import onelogin.saml2
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from broker.model.reasons import Reason
from broker.upstream.errors import UpstreamInvalid

NS_DS = C.NS_DS
NS_XENC = C.NS_XENC
NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"
_DSIG_MORE = "http://www.w3.org/2001/04/xmldsig-more#"

STRONG_SIGNATURE_METHODS = frozenset(
    {
        C.RSA_SHA256,
        C.RSA_SHA384,
        C.RSA_SHA512,
        f"{_DSIG_MORE}ecdsa-sha256",
        f"{_DSIG_MORE}ecdsa-sha384",
        f"{_DSIG_MORE}ecdsa-sha512",
    }
)
STRONG_DIGEST_METHODS = frozenset(
    {C.SHA256, "http://www.w3.org/2001/04/xmldsig-more#sha384", C.SHA512}
)
SHA1_SIGNATURE_METHODS = frozenset({C.RSA_SHA1})
SHA1_DIGEST_METHODS = frozenset({C.SHA1})

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_METHODS = frozenset(
    {
        EXC_C14N,
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2006/12/xml-c14n11",
    }
)
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
REFERENCE_TRANSFORMS = C14N_METHODS | {ENVELOPED}

_SIGNATURE_TRANSFORMS = {
    C.RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    C.RSA_SHA384: xmlsec.constants.TransformRsaSha384,
    C.RSA_SHA512: xmlsec.constants.TransformRsaSha512,
    f"{_DSIG_MORE}ecdsa-sha256": xmlsec.constants.TransformEcdsaSha256,
    f"{_DSIG_MORE}ecdsa-sha384": xmlsec.constants.TransformEcdsaSha384,
    f"{_DSIG_MORE}ecdsa-sha512": xmlsec.constants.TransformEcdsaSha512,
}
_C14N_TRANSFORMS = (
    xmlsec.constants.TransformExclC14N,
    xmlsec.constants.TransformInclC14N,
    xmlsec.constants.TransformInclC14N11,
)
_DIGEST_TRANSFORMS = (
    xmlsec.constants.TransformSha256,
    xmlsec.constants.TransformSha384,
    xmlsec.constants.TransformSha512,
)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def check_ids(root: etree._Element) -> None:
    """Every `ID` attribute is un-namespaced and unique in the document.

    libxmlsec1 registers IDs by local name whatever their namespace, first in document order
    wins and duplicates are silently ignored, so a duplicate or a `foo:ID` placed before the
    real element can redirect a Reference (S-09, "The Fragile Lock").
    """
    seen: set[str] = set()
    for element in root.iter(etree.Element):
        for name, value in element.attrib.items():
            local = etree.QName(name).localname
            if local != "ID":
                continue
            if "}" in name:
                raise UpstreamInvalid(Reason.DUPLICATE_ID, detail=f"namespaced ID attribute {name}")
            if value in seen:
                raise UpstreamInvalid(Reason.DUPLICATE_ID, detail=f"ID {value!r} appears twice")
            seen.add(value)


def check_signature_shapes(root: etree._Element, *, allow_sha1: bool) -> None:
    """S-20, S-21: refuse before xmlsec sees the signature."""
    sha1 = {"allow_sha1": "yes" if allow_sha1 else "no"}
    signature_methods = STRONG_SIGNATURE_METHODS | (SHA1_SIGNATURE_METHODS if allow_sha1 else set())
    digest_methods = STRONG_DIGEST_METHODS | (SHA1_DIGEST_METHODS if allow_sha1 else set())
    for signature in root.iter(_q(NS_DS, "Signature")):
        parent = signature.getparent()
        parent_id = parent.get("ID") if parent is not None else None
        if not parent_id:
            raise _bad_structure("signed element has no ID")
        signed_info = _only(signature, "SignedInfo")
        c14n = _only(signed_info, "CanonicalizationMethod").get("Algorithm")
        if c14n not in C14N_METHODS:
            raise UpstreamInvalid(
                Reason.WEAK_ALGORITHM,
                detail=f"canonicalization {c14n}",
                facts={"canonicalization": str(c14n), **sha1},
            )
        method = _only(signed_info, "SignatureMethod").get("Algorithm")
        if method not in signature_methods:
            raise UpstreamInvalid(
                Reason.WEAK_ALGORITHM,
                detail=f"signature method {method}",
                facts={"signature_algorithm": str(method), **sha1},
            )
        references = signed_info.findall(_q(NS_DS, "Reference"))
        if len(references) != 1:
            raise _bad_structure(f"{len(references)} References; exactly one allowed")
        reference = references[0]
        if reference.get("URI") != f"#{parent_id}":
            raise _bad_structure("the Reference does not point at the signed element")
        transforms = reference.find(_q(NS_DS, "Transforms"))
        if transforms is not None:
            algorithms = [t.get("Algorithm") for t in transforms]
            if len(algorithms) > 2 or any(a not in REFERENCE_TRANSFORMS for a in algorithms):
                raise _bad_structure(f"transforms {algorithms}")
        digest = _only(reference, "DigestMethod").get("Algorithm")
        if digest not in digest_methods:
            raise UpstreamInvalid(
                Reason.WEAK_ALGORITHM,
                detail=f"digest method {digest}",
                facts={"digest_algorithm": str(digest), **sha1},
            )
        for forbidden in ("Object", "Manifest", "RetrievalMethod", "KeyInfoReference"):
            if next(signature.iter(_q(NS_DS, forbidden)), None) is not None:
                raise _bad_structure(f"ds:{forbidden} present")


def load_verification_keys(certificates_pem: Sequence[str]) -> tuple[xmlsec.Key, ...]:
    """The pinned IdP certificates' public keys as xmlsec keys, loaded once per opened
    connector. The bare key, not the certificate: a signature context copies its key for
    every verification, and a key loaded from a certificate carries its X.509 data along
    (~40 µs a copy, against ~1 µs; issue 18). Only the key verifies: the certificate is
    pinned, never validated as a chain, so nothing else of it is used."""
    return tuple(
        xmlsec.Key.from_memory(
            x509.load_pem_x509_certificate(pem.encode())
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
            xmlsec.constants.KeyDataFormatPem,
            None,
        )
        for pem in certificates_pem
    )


def verify_signature(
    signature: etree._Element, keys: Sequence[xmlsec.Key], *, allow_sha1: bool
) -> int | None:
    """The index in `keys` of the pinned key `signature` verifies under, None if none, with
    only the allow-listed transforms enabled (python-xmlsec: the first enable_* call
    switches to explicit lists). Which key matters beyond yes or no: a certificate rollover
    drops the old certificate only once a login verified under a new one
    (broker.jobs.saml_metadata_refresh)."""
    for index, key in enumerate(keys):
        context = xmlsec.SignatureContext()
        context.key = key
        for transform in (*_C14N_TRANSFORMS, *_SIGNATURE_TRANSFORMS.values()):
            context.enable_signature_transform(transform)
        for transform in (*_C14N_TRANSFORMS, xmlsec.constants.TransformEnveloped):
            context.enable_reference_transform(transform)
        for transform in _DIGEST_TRANSFORMS:
            context.enable_reference_transform(transform)
        if allow_sha1:
            context.enable_signature_transform(xmlsec.constants.TransformRsaSha1)
            context.enable_reference_transform(xmlsec.constants.TransformSha1)
        try:
            context.verify(signature)
        except xmlsec.Error:
            continue
        return index
    return None


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate, `AB:CD:...`, as IdP admin consoles and our portal show it."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def pem_fingerprint(pem: str) -> str:
    """`certificate_fingerprint` of a PEM certificate (ValueError if it is not one)."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return certificate_fingerprint(certificate.public_bytes(Encoding.DER))


def trusted_fingerprints(certificates_pem: Sequence[str]) -> str:
    """The pinned certificates' fingerprints, one per line (a refusal's fact)."""
    found = []
    for pem in certificates_pem:
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            continue
        found.append(certificate_fingerprint(certificate.public_bytes(Encoding.DER)))
    return "\n".join(found)


def key_info_facts(signature: etree._Element) -> dict[str, str]:
    """What the signature's KeyInfo says signed it, for the IT admin's diagnosis of a
    signature no pinned certificate verifies. Read only then, and never trusted (S-18): it
    is compared by eye with the certificates Gatehouse trusts."""
    found = signature.find(f"{_q(NS_DS, 'KeyInfo')}//{_q(NS_DS, 'X509Certificate')}")
    if found is None or not (found.text or "").strip():
        return {"response_fingerprint": "(no certificate in the signature's KeyInfo)"}
    try:
        der = base64.b64decode("".join((found.text or "").split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error):
        return {"response_fingerprint": "(an unreadable certificate in KeyInfo)"}
    return {
        "response_fingerprint": certificate_fingerprint(der),
        "response_certificate_subject": certificate.subject.rfc4514_string()[:200],
    }


def register_ids(root: etree._Element) -> None:
    """Tell libxmlsec1 that `ID` is an ID attribute (SAML's schema says so; without a DTD it
    cannot know). Safe only after `check_ids`."""
    xmlsec.tree.add_ids(root, ["ID"])


_SCHEMA_PATH = Path(onelogin.saml2.__file__).parent / "schemas" / "saml-schema-protocol-2.0.xsd"
_schemas = threading.local()


def protocol_schema() -> etree.XMLSchema:
    """The SAML 2.0 protocol XSD, compiled once per thread.

    python3-saml recompiles it on every validation (about 1 ms of its 2.3 ms per response).
    One per thread rather than per process because lxml documents validators as not safe to
    share between threads; the request thread pool is small and long-lived.
    """
    schema: etree.XMLSchema | None = getattr(_schemas, "protocol", None)
    if schema is None:
        schema = etree.XMLSchema(etree.parse(str(_SCHEMA_PATH)))
        _schemas.protocol = schema
    return schema


def _only(parent: etree._Element, name: str) -> etree._Element:
    found = parent.findall(_q(NS_DS, name))
    if len(found) != 1:
        raise _bad_structure(f"expected one ds:{name}")
    return found[0]


def _bad_structure(detail: str) -> UpstreamInvalid:
    return UpstreamInvalid(Reason.BAD_SIGNATURE_STRUCTURE, detail=detail)
