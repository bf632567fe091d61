"""Which encrypted assertions we decrypt (docs/security.md S-22), decided before xmlsec does.

python3-saml decrypts in its response constructor, before any signature is checked, with an
xmlsec context that accepts every algorithm libxmlsec1 knows and dereferences any URI. Whatever
reaches the decryption is therefore attacker-chosen, so we read the algorithm URIs from the tree
python3-saml already parsed (never a second parse: S-40) and allow only:

- content encryption AES-GCM (XML Encryption 1.1 §5.2.4), which authenticates the ciphertext;
  AES-CBC (XML Encryption 1.0 §5.2.2) only when the connection opts in, because unauthenticated
  CBC under an unsigned envelope is the padding oracle of Jager & Somorovsky, "How to Break
  XML Encryption" (CCS 2011); never 3DES or AES-192 (nobody needs them);
- key transport RSA-OAEP (`rsa-oaep-mgf1p`, or XML Encryption 1.1 `rsa-oaep` with an
  allow-listed digest and MGF); never RSA PKCS#1 v1.5 (`rsa-1_5`, Bleichenbacher's oracle;
  XML Encryption 1.1 §5.5.1 itself warns against it);
- ciphertext inline only (`CipherValue`, never `CipherReference`: libxmlsec1 would fetch it);
  the content key carried in `EncryptedKey`, inline or through a same-document
  `RetrievalMethod`; no key agreement or key derivation (`AgreementMethod`, `DerivedKey`),
  which would run attacker-chosen KDFs before anything is authenticated.

The SP metadata advertises the same lists (`advertised_methods`), GCM first, so that an IdP
that reads `md:EncryptionMethod` picks GCM.
"""

from __future__ import annotations

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from broker.model.reasons import Reason
from broker.upstream.errors import UpstreamInvalid
from broker.upstream.saml.xmlsig import NS_DS, NS_XENC, NS_XENC11

AES128_GCM = f"{NS_XENC11}aes128-gcm"
AES256_GCM = f"{NS_XENC11}aes256-gcm"
AES128_CBC = C.AES128_CBC
AES256_CBC = C.AES256_CBC
RSA_OAEP_MGF1P = C.RSA_OAEP_MGF1P
RSA_OAEP = f"{NS_XENC11}rsa-oaep"

GCM_CIPHERS = (AES256_GCM, AES128_GCM)
CBC_CIPHERS = (AES256_CBC, AES128_CBC)
KEY_TRANSPORTS = (RSA_OAEP_MGF1P, RSA_OAEP)
#: OAEP's hash and mask generation function (XML Encryption 1.1 §5.5.2). SHA-1 stays: OAEP
#: needs no collision resistance, and it is the default most IdPs send.
OAEP_DIGESTS = frozenset(
    {C.SHA1, C.SHA256, "http://www.w3.org/2001/04/xmldsig-more#sha384", C.SHA512}
)
OAEP_MGFS = frozenset(f"{NS_XENC11}mgf1sha{bits}" for bits in ("1", "256", "384", "512"))
#: Enough for a key per SP certificate during a rollover; each one costs an RSA decryption.
MAX_ENCRYPTED_KEYS = 4

_DIGEST_METHOD = f"{{{NS_DS}}}DigestMethod"
_MGF = f"{{{NS_XENC11}}}MGF"
_OAEP_PARAMS = f"{{{NS_XENC}}}OAEPparams"
#: What may identify the content key inside `EncryptedData/ds:KeyInfo`.
_DATA_KEY_INFO = frozenset(
    {f"{{{NS_XENC}}}EncryptedKey", f"{{{NS_DS}}}RetrievalMethod", f"{{{NS_DS}}}KeyName"}
)
#: Never anywhere in the document: each makes libxmlsec1 fetch, agree on or derive a key.
_FORBIDDEN = (
    f"{{{NS_XENC}}}CipherReference",
    f"{{{NS_XENC}}}AgreementMethod",
    f"{{{NS_XENC11}}}DerivedKey",
    "{http://www.w3.org/2009/xmldsig11#}KeyInfoReference",
)


def accepted_ciphers(*, allow_cbc: bool) -> tuple[str, ...]:
    """Content-encryption algorithms, most preferred first."""
    return GCM_CIPHERS + (CBC_CIPHERS if allow_cbc else ())


def advertised_methods(*, allow_cbc: bool) -> tuple[str, ...]:
    """The `md:EncryptionMethod` algorithms of the SP's encryption key, in preference order."""
    return accepted_ciphers(allow_cbc=allow_cbc) + KEY_TRANSPORTS


def check_encryption_shapes(root: etree._Element, *, allow_cbc: bool) -> None:
    """Refuse what we would not decrypt, reading the tree python3-saml parsed.

    Reasons: `bad_encryption_structure` (something that reaches outside the document or
    makes xmlsec agree on or derive a key), `cbc_not_enabled` (AES-CBC on a connection that
    did not opt in), `weak_algorithm` (never accepted: 3DES, RSA 1.5, anything unknown).
    """
    for tag in _FORBIDDEN:
        if next(root.iter(tag), None) is not None:
            raise UpstreamInvalid(
                Reason.BAD_ENCRYPTION_STRUCTURE,
                detail=f"{etree.QName(tag).localname} present",
                facts={"encrypted_assertion": "yes"},
            )
    for data in root.iter(f"{{{NS_XENC}}}EncryptedData"):
        _check_data(data, allow_cbc=allow_cbc)
    keys = list(root.iter(f"{{{NS_XENC}}}EncryptedKey"))
    if len(keys) > MAX_ENCRYPTED_KEYS:
        raise _bad_structure(f"{len(keys)} EncryptedKeys")
    for key in keys:
        _check_key(key)
    for retrieval in root.iter(f"{{{NS_DS}}}RetrievalMethod"):
        if not (retrieval.get("URI") or "").startswith("#"):
            raise _bad_structure("RetrievalMethod outside")


def _method(element: etree._Element) -> etree._Element:
    methods = element.findall(f"{{{NS_XENC}}}EncryptionMethod")
    if len(methods) != 1:
        raise _bad_structure(f"{len(methods)} EncryptionMethods; exactly one")
    return methods[0]


def _check_data(data: etree._Element, *, allow_cbc: bool) -> None:
    method = _method(data)
    algorithm = method.get("Algorithm")
    facts = {
        "encryption_algorithm": str(algorithm),
        "encrypted_assertion": "yes",
        "allow_cbc_encryption": "yes" if allow_cbc else "no",
    }
    detail = f"content encryption {algorithm}"
    if algorithm in CBC_CIPHERS and not allow_cbc:
        raise UpstreamInvalid(Reason.CBC_NOT_ENABLED, detail=detail, facts=facts)
    if algorithm not in accepted_ciphers(allow_cbc=allow_cbc):
        raise UpstreamInvalid(Reason.WEAK_ALGORITHM, detail=detail, facts=facts)
    if len(method):
        raise _bad_structure("parameters on the data algorithm")
    key_info = data.find(f"{{{NS_DS}}}KeyInfo")
    for child in key_info if key_info is not None else ():
        if child.tag not in _DATA_KEY_INFO:
            raise _bad_structure(f"{etree.QName(child).localname} in KeyInfo")


def _check_key(key: etree._Element) -> None:
    # One tag per iter(): python3-saml's element class (defusedxml's RestrictedElement)
    # breaks lxml's iter(*tags).
    nested = [*key.iter(f"{{{NS_XENC}}}EncryptedKey"), *key.iter(f"{{{NS_XENC}}}EncryptedData")]
    if any(inner is not key for inner in nested):
        raise _bad_structure("a key encrypted under another")
    method = _method(key)
    algorithm = method.get("Algorithm")
    facts = {"key_transport_algorithm": str(algorithm), "encrypted_assertion": "yes"}
    if algorithm not in KEY_TRANSPORTS:
        raise UpstreamInvalid(
            Reason.WEAK_ALGORITHM, detail=f"key transport {algorithm}", facts=facts
        )
    for parameter in method:
        if parameter.tag == _OAEP_PARAMS:
            continue  # OAEP's label: bytes, no behaviour
        allowed = (
            OAEP_DIGESTS
            if parameter.tag == _DIGEST_METHOD
            else OAEP_MGFS
            if parameter.tag == _MGF and algorithm == RSA_OAEP
            else frozenset()
        )
        value = parameter.get("Algorithm")
        if value not in allowed:
            raise UpstreamInvalid(
                Reason.WEAK_ALGORITHM,
                detail=f"key transport parameter {etree.QName(parameter).localname} {value}",
                facts={**facts, "key_transport_parameter": str(value)},
            )


def _bad_structure(detail: str) -> UpstreamInvalid:
    return UpstreamInvalid(Reason.BAD_ENCRYPTION_STRUCTURE, detail=detail)
