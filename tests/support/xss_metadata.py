"""Hostile IdP metadata for the stored-XSS tests (T-10): every value an IdP's metadata
carries, and a certificate's subject, holding markup that runs script if a page ever puts
it into HTML unescaped.

Each value carries its own `Payload`, so a test tells which value a page shows (and that it
shows it, escaped), not only that nothing ran. The markup is an `<img>` whose `onerror`
sets `window.__xss` and opens a dialog: in Chromium either gives it away, and with the CSP
in place the refused handler is a console error too. It has no `;`, `,`, `+` or `\\`, so
it survives a certificate subject's RFC 4514 escaping as live markup (only the `"` and the
`>` around it get a backslash). Shared by tests/admin_portal/setup/test_xss.py (in
process, every page's HTML) and tests/browser/test_xss_metadata.py (Chromium).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from lxml import etree
from markupsafe import escape

from tests.support.certificates import certificate_and_key

#: What no page may ever contain: the start of an injected element (either shape), as markup.
RAW = ("<img src=x onerror", "<img/src=")
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
BINDINGS = {
    "redirect": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "post": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
}


@dataclass(frozen=True, slots=True)
class Payload:
    """Markup for one value, told apart from the others by `field`. `compact`: without
    whitespace, for a URL (python3-saml, like RFC 3986, takes none in a URL): the element's
    attributes are then separated by `/`, and the field is a JavaScript comment."""

    field: str
    compact: bool = False

    @property
    def element(self) -> str:
        """The injected element, as a page that failed to escape it would contain it."""
        if self.compact:
            return f'<img/src="x"/onerror=alert(window.__xss=1)//{self.field}'
        return f"<img src=x onerror=alert(window.__xss=1) title={self.field}"

    @property
    def value(self) -> str:
        """What goes into the metadata: it closes an attribute and a tag, then the element."""
        return f'">{self.element}>'

    @property
    def shown(self) -> str:
        """The element as text on a page (Jinja's autoescape of it): proof that the page
        shows the value, and shows it as text."""
        return str(escape(self.element))

    @property
    def trace(self) -> str:
        """A part of the element its markup and its text share: absent, the value is not
        on the page at all."""
        return self.element.partition("onerror=")[2]


ENTITY = Payload("entity")
SSO = Payload("sso", compact=True)
ORG_NAME = Payload("org-name")
ORG_DISPLAY = Payload("org-display")
CONTACT_NAME = Payload("contact-name")
CONTACT_EMAIL = Payload("contact-email")
#: The metadata's values no part of Gatehouse reads: no page may show them, escaped or not.
NEVER_READ = (ORG_NAME, ORG_DISPLAY, CONTACT_NAME, CONTACT_EMAIL)


def certificate_payloads(name: str) -> tuple[Payload, Payload]:
    """The payloads in `hostile_certificate(name)`'s subject: its CN and its O."""
    return Payload(f"{name}-cn"), Payload(f"{name}-o")


def hostile_certificate(name: str, *, not_after: datetime) -> str:
    """A self-signed certificate (PEM) whose subject's CN and O both hold a payload
    (`certificate_payloads(name)`); valid for the year before `not_after`."""
    common_name, organization = certificate_payloads(name)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name.value),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.value),
    ])  # fmt: skip
    pem, _ = certificate_and_key(
        not_after=not_after, subject=subject, not_before=not_after - timedelta(days=365)
    )
    return pem


def hostile_metadata(
    entity_id: str, sso_url: str, certificates: list[str], *, binding: str = "redirect"
) -> bytes:
    """An IdP's metadata with these values (built with lxml, so the payloads are XML text
    and attribute values, as a real document would carry them), plus an Organization and a
    technical ContactPerson whose every value is a payload (`NEVER_READ`)."""
    root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    root.set("entityID", entity_id)
    idp = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor")
    idp.set("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
    for pem in certificates:
        descriptor = etree.SubElement(idp, f"{{{MD}}}KeyDescriptor", use="signing")
        data = etree.SubElement(
            etree.SubElement(descriptor, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data"
        )
        der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der).decode()
    service = etree.SubElement(idp, f"{{{MD}}}SingleSignOnService")
    service.set("Binding", BINDINGS[binding])
    service.set("Location", sso_url)
    organization = etree.SubElement(root, f"{{{MD}}}Organization")
    for tag, text in (("OrganizationName", ORG_NAME.value),
                      ("OrganizationDisplayName", ORG_DISPLAY.value),
                      ("OrganizationURL", "https://idp.example.test/")):  # fmt: skip
        element = etree.SubElement(organization, f"{{{MD}}}{tag}")
        element.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        element.text = text
    contact = etree.SubElement(root, f"{{{MD}}}ContactPerson", contactType="technical")
    etree.SubElement(contact, f"{{{MD}}}GivenName").text = CONTACT_NAME.value
    etree.SubElement(
        contact, f"{{{MD}}}EmailAddress"
    ).text = f"mailto:it{CONTACT_EMAIL.value}@idp.example.test"
    document: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return document


def entities(*entity_ids: str, sso_url: str, certificate: str) -> bytes:
    """An aggregate (`EntitiesDescriptor`) of several IdPs: the portal refuses it with a
    message that names their entity IDs, for the admin to pick one."""
    root = etree.Element(f"{{{MD}}}EntitiesDescriptor", nsmap={"md": MD, "ds": DS})
    for entity_id in entity_ids:
        one = etree.fromstring(hostile_metadata(entity_id, sso_url, [certificate]))
        root.append(one)
    document: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return document


def assert_escaped(page: str, *shown: Payload, where: str) -> None:
    """No payload is markup on `page`; each of `shown` is on it, as text; the values
    nobody reads are not on it at all."""
    for raw in RAW:
        assert raw not in page, f"{where}: a payload is markup on the page"
    for payload in shown:
        assert payload.shown in page, f"{where}: {payload.field} is not shown (escaped)"
    for payload in NEVER_READ:
        assert payload.trace not in page, f"{where}: {payload.field} is shown"
