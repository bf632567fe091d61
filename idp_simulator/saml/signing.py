"""XML signatures over Responses and Assertions, with xmlsec, the way IdPs make them.

Enveloped signature (xmldsig-core §6.6.4) + exclusive canonicalization without comments
(SAML core §5.4.3/§5.4.4), Reference URI `#<ID>`, the signer's certificate in KeyInfo. The
algorithms are always passed explicitly: library defaults have changed between versions.

Public API (the broker's tests use it to make golden files): `sign`, `sign_response_tree`,
`sign_response_xml`, `verify`.
"""

from __future__ import annotations

from typing import Any, Literal

import xmlsec

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.xmltools import DS, SAML, SAMLP, parse_xml, qname, to_bytes

__all__ = [
    "SignatureAlgorithm",
    "SigningError",
    "sign",
    "sign_response_tree",
    "sign_response_xml",
    "verify",
]

SignatureAlgorithm = Literal["rsa-sha256", "rsa-sha1"]

_ALGORITHMS: dict[str, tuple[Any, Any]] = {
    "rsa-sha256": (xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha256),
    "rsa-sha1": (xmlsec.constants.TransformRsaSha1, xmlsec.constants.TransformSha1),
}


class SigningError(ValueError):
    """The element cannot be signed where SAML wants its signature (no ID, no Issuer)."""


def sign(element: Any, keys: IdpKeys, *, algorithm: SignatureAlgorithm = "rsa-sha256") -> None:
    """Sign `element` (a `samlp:Response` or `saml:Assertion` inside its document) in place.

    The `ds:Signature` goes right after the element's `saml:Issuer`, where both schemas put
    it. `rsa-sha256` digests with SHA-256; `rsa-sha1` with SHA-1 (only for the downgrade
    scenario: brokers should refuse it).
    """
    sign_method, digest_method = _ALGORITHMS[algorithm]
    element_id = element.get("ID")
    issuer = element.find(qname(SAML, "Issuer"))
    if not element_id or issuer is None:
        raise SigningError(f"{element.tag} needs an ID attribute and a saml:Issuer to be signed")
    signature = xmlsec.template.create(
        element, xmlsec.constants.TransformExclC14N, sign_method, ns="ds"
    )
    issuer.addnext(signature)
    reference = xmlsec.template.add_reference(signature, digest_method, uri=f"#{element_id}")
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    x509_data = xmlsec.template.add_x509_data(key_info)
    xmlsec.template.x509_data_add_certificate(x509_data)
    # Elements built or parsed without a DTD have no ID-typed attributes: tell xmlsec.
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = _key(keys)
    context.sign(signature)


def sign_response_tree(
    response: Any,
    keys: IdpKeys,
    *,
    sign_assertion: bool = True,
    sign_response: bool = True,
    algorithm: SignatureAlgorithm = "rsa-sha256",
) -> None:
    """Sign a Response tree in place: each direct `saml:Assertion` first, then the Response, so
    the Response signature covers the Assertion's."""
    if sign_assertion:
        for assertion in response.findall(qname(SAML, "Assertion")):
            sign(assertion, keys, algorithm=algorithm)
    if sign_response:
        sign(response, keys, algorithm=algorithm)


def sign_response_xml(
    xml: bytes,
    keys: IdpKeys,
    *,
    sign_assertion: bool,
    sign_response: bool,
    algorithm: SignatureAlgorithm = "rsa-sha256",
) -> bytes:
    """`sign_response_tree` on a serialized Response; returns the signed document's bytes.

    Comments in `xml` are kept (they are outside what exclusive c14n signs), and a DOCTYPE is
    refused, as everywhere in the simulator.
    """
    root = parse_xml(xml, keep_comments=True)
    if root.tag != qname(SAMLP, "Response"):
        raise SigningError(f"expected a samlp:Response, got {root.tag}")
    sign_response_tree(
        root, keys, sign_assertion=sign_assertion, sign_response=sign_response, algorithm=algorithm
    )
    return to_bytes(root)


def verify(element: Any, certificate_pem: bytes) -> None:
    """Check the enveloped signature of `element` against `certificate_pem`.

    Raises `xmlsec.Error` for a bad signature and `SigningError` when there is none or its
    Reference is not `#<ID of element>`. For the simulator's tests and golden-file sanity; it
    is not a SAML validator (no algorithm policy, no certificate pinning beyond the one given).
    """
    signature = element.find(qname(DS, "Signature"))
    if signature is None:
        raise SigningError(f"{element.tag} carries no ds:Signature")
    uris = [ref.get("URI") for ref in signature.iter(qname(DS, "Reference"))]
    if uris != [f"#{element.get('ID')}"]:
        raise SigningError(f"the signature references {uris}, not this element")
    xmlsec.tree.add_ids(element, ["ID"])
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(certificate_pem, xmlsec.constants.KeyDataFormatCertPem)
    context.verify(signature)


def _key(keys: IdpKeys) -> Any:
    key = xmlsec.Key.from_memory(keys.private_key_pem, xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_memory(keys.certificate_pem, xmlsec.constants.KeyDataFormatCertPem)
    return key
