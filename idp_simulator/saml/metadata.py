"""The IdP's SAML metadata: what a broker connection imports to trust the simulator."""

from __future__ import annotations

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.response import NAMEID_EMAIL
from idp_simulator.saml.xmltools import DS, MD, SAMLP, etree, qname, to_bytes

__all__ = ["BINDING_POST", "BINDING_REDIRECT", "NAMEID_EMAIL", "metadata_xml"]

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def metadata_xml(entity_id: str, sso_url: str, keys: IdpKeys, *more_keys: IdpKeys) -> bytes:
    """An `EntityDescriptor` with one `IDPSSODescriptor`, in schema order (KeyDescriptor,
    NameIDFormat, SingleSignOnService), one signing KeyDescriptor per key (`more_keys`: the
    next certificate of a rollover, published before it signs). Unsigned: the simulator
    publishes it over the same channel the developer trusts to run it."""
    root = etree.Element(qname(MD, "EntityDescriptor"), nsmap={"md": MD, "ds": DS})
    root.set("entityID", entity_id)
    idp = etree.SubElement(root, qname(MD, "IDPSSODescriptor"))
    idp.set("WantAuthnRequestsSigned", "false")
    idp.set("protocolSupportEnumeration", SAMLP)
    for published in (keys, *more_keys):
        key_descriptor = etree.SubElement(idp, qname(MD, "KeyDescriptor"))
        key_descriptor.set("use", "signing")
        key_info = etree.SubElement(key_descriptor, qname(DS, "KeyInfo"))
        x509_data = etree.SubElement(key_info, qname(DS, "X509Data"))
        certificate = etree.SubElement(x509_data, qname(DS, "X509Certificate"))
        certificate.text = published.certificate_base64()
    etree.SubElement(idp, qname(MD, "NameIDFormat")).text = NAMEID_EMAIL
    for binding in (BINDING_REDIRECT, BINDING_POST):
        service = etree.SubElement(idp, qname(MD, "SingleSignOnService"))
        service.set("Binding", binding)
        service.set("Location", sso_url)
    return to_bytes(root)
