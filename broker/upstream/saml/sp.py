"""Our side of a SAML connection: python3-saml settings, AuthnRequests, SP metadata.

Each connection is its own SP, with its own entity ID, ACS URL and key pairs (S-19). One key
signs AuthnRequests, the other decrypts assertions: python3-saml's settings hold a single SP
private key, so we build two settings objects, one per purpose.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from broker.http import AutoPost, Redirect
from broker.keys.crypto import SecretBox
from broker.upstream.saml.config import (
    BINDING_POST,
    BINDING_REDIRECT,
    NAMEID_EMAIL,
    SamlConnectionConfig,
    SpKeyPair,
)
from broker.upstream.saml.xmlenc import advertised_methods
from broker.upstream.urls import ConnectionEndpoints

NS_MD = C.NS_MD


def key_context(connection_id: str, purpose: str) -> str:
    """SecretBox associated data: a key copied into another connection fails to decrypt."""
    return f"saml_sp_key:{connection_id}:{purpose}"


@dataclass(frozen=True, slots=True)
class SpKeys:
    signing_key_pem: str
    signing_key: rsa.RSAPrivateKey
    signing_cert_pem: str
    encryption_key_pem: str
    encryption_cert_pem: str


def open_sp_keys(config: SamlConnectionConfig, box: SecretBox, connection_id: str) -> SpKeys:
    def private(pair: SpKeyPair, purpose: str) -> str:
        blob = base64.b64decode(pair.private_key_encrypted)
        return box.decrypt(blob, context=key_context(connection_id, purpose)).decode()

    signing_pem = private(config.sp_signing, "signing")
    signing_key = load_pem_private_key(signing_pem.encode(), password=None)
    if not isinstance(signing_key, rsa.RSAPrivateKey):
        raise ValueError("SP signing key must be RSA")
    return SpKeys(
        signing_key_pem=signing_pem,
        signing_key=signing_key,
        signing_cert_pem=config.sp_signing.certificate_pem,
        encryption_key_pem=private(config.sp_encryption, "encryption"),
        encryption_cert_pem=config.sp_encryption.certificate_pem,
    )


def xml_attribute_text(value: str) -> str:
    """`value` escaped for a double-quoted XML attribute. python3-saml writes the IdP's SSO
    URL into the AuthnRequest's Destination by string formatting, unescaped: an `&` in its
    query would make the request malformed, and a `"` or `<` (the URL comes from the IdP's
    metadata, T-10) would add attributes or elements to a request Gatehouse signs."""
    return xml_escape(value, {'"': "&quot;"})


def python3_saml_settings(
    config: SamlConnectionConfig,
    endpoints: ConnectionEndpoints,
    *,
    private_key_pem: str,
    certificate_pem: str,
) -> OneLogin_Saml2_Settings:
    """Strict settings. Several of python3-saml's checks are re-done more strictly by
    `validate.py`; these flags keep its own accessors (NameID, attributes) strict too."""
    return OneLogin_Saml2_Settings(
        {
            "strict": True,
            "debug": False,
            "sp": {
                "entityId": endpoints.entity_id,
                "assertionConsumerService": {
                    "url": endpoints.callback_url,
                    "binding": BINDING_POST,
                },
                "NameIDFormat": config.name_id_format,
                "x509cert": certificate_pem,
                "privateKey": private_key_pem,
            },
            "idp": {
                "entityId": config.idp_entity_id,
                "singleSignOnService": {
                    "url": xml_attribute_text(config.sso_url),
                    "binding": BINDING_POST if config.sso_binding == "post" else BINDING_REDIRECT,
                },
                "x509certMulti": {"signing": list(config.idp_certificates)},
            },
            "security": {
                "authnRequestsSigned": True,
                "wantAssertionsSigned": config.require_assertion_signature,
                "wantMessagesSigned": False,
                "wantAssertionsEncrypted": config.require_encrypted_assertion,
                "wantNameId": True,
                # No RequestedAuthnContext: demanding PasswordProtectedTransport (the library
                # default) breaks logins that used MFA or Kerberos at ADFS and Entra ID.
                "requestedAuthnContext": False,
                "signatureAlgorithm": C.RSA_SHA256,
                "digestAlgorithm": C.SHA256,
                "rejectDeprecatedAlgorithm": not config.allow_sha1,
                "wantAttributeStatement": False,
                # Keycloak and others send one <Attribute> per value of a multi-valued
                # attribute (roles); python3-saml then merges the values into one list. The
                # connector refuses an ambiguous email instead (several distinct values).
                "allowRepeatAttributeName": True,
            },
        },
        sp_validation_only=False,
    )


@dataclass(frozen=True, slots=True)
class AuthnRequestOut:
    request_id: str
    action: Redirect | AutoPost


def build_authn_request(
    config: SamlConnectionConfig,
    settings: OneLogin_Saml2_Settings,
    keys: SpKeys,
    *,
    relay_state: str,
    force_authn: bool,
    subject_hint: str | None = None,
) -> AuthnRequestOut:
    """An AuthnRequest signed with the SP signing key, on the binding the IdP asked for.

    `subject_hint` (an email address) becomes the request's `<saml:Subject><saml:NameID>`
    when the connection allows it and its NameID format is emailAddress (see
    `SamlConnectionConfig.subject_hint`). python3-saml pastes the value into its XML
    template unescaped, so it is escaped here: an address may hold `&`.

    HTTP-Redirect signs the query string itself (SAML Bindings §3.4.4.1): the octets signed
    are exactly the URL-encoded parameters we send, in the order the spec fixes.
    """
    subject = (
        xml_escape(subject_hint)
        if subject_hint and config.subject_hint and config.name_id_format == NAMEID_EMAIL
        else None
    )
    request = OneLogin_Saml2_Authn_Request(
        settings, force_authn=force_authn, name_id_value_req=subject
    )
    if config.sso_binding == "post":
        signed = OneLogin_Saml2_Utils.add_sign(
            request.get_xml(),
            keys.signing_key_pem,
            keys.signing_cert_pem,
            sign_algorithm=C.RSA_SHA256,
            digest_algorithm=C.SHA256,
        )
        fields = {
            "SAMLRequest": base64.b64encode(signed).decode(),
            "RelayState": relay_state,
        }
        return AuthnRequestOut(request.get_id(), AutoPost(config.sso_url, fields))
    signed_part = (
        f"SAMLRequest={quote(request.get_request(deflate=True), safe='')}"
        f"&RelayState={quote(relay_state, safe='')}"
        f"&SigAlg={quote(C.RSA_SHA256, safe='')}"
    )
    signature = keys.signing_key.sign(signed_part.encode(), padding.PKCS1v15(), hashes.SHA256())
    query = f"{signed_part}&Signature={quote(base64.b64encode(signature).decode(), safe='')}"
    separator = "&" if "?" in config.sso_url else "?"
    return AuthnRequestOut(request.get_id(), Redirect(f"{config.sso_url}{separator}{query}"))


def sp_metadata(
    endpoints: ConnectionEndpoints,
    *,
    signing_cert_pem: str,
    encryption_cert_pem: str,
    name_id_format: str,
    want_assertions_signed: bool,
    allow_cbc_encryption: bool,
) -> bytes:
    """The SP metadata an IdP admin imports: entity ID, ACS (POST), NameID format, and the
    two certificates, each with its use. Needs only the SP's side, so a connection still
    waiting for its IdP's values publishes it too (the IdP admin imports it first).

    The encryption key lists the algorithms we decrypt as `md:EncryptionMethod` (SAML
    Metadata §2.4.1.1), most preferred first: an IdP that reads them (the Metadata Profile for
    Algorithm Support, sstc-saml-metadata-algsupport) picks AES-GCM and RSA-OAEP rather
    than a default we would refuse (S-22)."""
    md = f"{{{NS_MD}}}"
    root = etree.Element(f"{md}EntityDescriptor", nsmap={"md": NS_MD, "ds": C.NS_DS})
    root.set("entityID", endpoints.entity_id)
    sp = etree.SubElement(root, f"{md}SPSSODescriptor")
    sp.set("AuthnRequestsSigned", "true")
    sp.set("WantAssertionsSigned", "true" if want_assertions_signed else "false")
    sp.set("protocolSupportEnumeration", C.NS_SAMLP)
    for use, pem in (("signing", signing_cert_pem), ("encryption", encryption_cert_pem)):
        descriptor = etree.SubElement(sp, f"{md}KeyDescriptor", use=use)
        info = etree.SubElement(descriptor, f"{{{C.NS_DS}}}KeyInfo")
        data = etree.SubElement(info, f"{{{C.NS_DS}}}X509Data")
        cert = etree.SubElement(data, f"{{{C.NS_DS}}}X509Certificate")
        cert.text = "".join(
            line for line in pem.strip().splitlines() if not line.startswith("-----")
        )
        if use == "encryption":
            for algorithm in advertised_methods(allow_cbc=allow_cbc_encryption):
                etree.SubElement(descriptor, f"{md}EncryptionMethod", Algorithm=algorithm)
    etree.SubElement(sp, f"{md}NameIDFormat").text = name_id_format
    acs = etree.SubElement(sp, f"{md}AssertionConsumerService")
    acs.set("Binding", BINDING_POST)
    acs.set("Location", endpoints.callback_url)
    acs.set("index", "0")
    acs.set("isDefault", "true")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
