"""XML primitives shared by the simulator's SAML modules: namespaces, a hardened parser, ids.

lxml ships no type stubs (its objects are `Any` to mypy), so it is imported here once and the
other modules take `etree` from this module.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from lxml import etree

__all__ = [
    "DS",
    "MD",
    "SAML",
    "SAMLP",
    "XmlRefused",
    "etree",
    "new_id",
    "parse_xml",
    "qname",
    "saml_datetime",
    "to_bytes",
]

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"


class XmlRefused(ValueError):
    """The bytes are not XML we are willing to read (malformed, or carrying a DOCTYPE)."""


def qname(namespace: str, local: str) -> str:
    """Clark notation (`{ns}local`), the form lxml uses for element and attribute names."""
    return f"{{{namespace}}}{local}"


def new_id() -> str:
    """A SAML ID: `_` + 40 hex characters (160 random bits).

    xs:ID must be an NCName, so it cannot start with a digit; the underscore guarantees that.
    """
    return "_" + secrets.token_hex(20)


def saml_datetime(moment: datetime) -> str:
    """xs:dateTime in UTC with a `Z`, whole seconds: the form SAML 2.0 core §1.3.3 asks for."""
    if moment.tzinfo is None:
        raise ValueError("SAML times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parser(*, keep_comments: bool) -> Any:
    # No entity expansion, no network, no huge documents: the XXE and billion-laughs defences.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=not keep_comments,
        remove_pis=True,
    )


def parse_xml(data: bytes, *, keep_comments: bool = False) -> Any:
    """Parse `data` into its root element, refusing any DOCTYPE.

    A DOCTYPE has no place in SAML (core §1.3: "MUST NOT contain a DTD") and is how entity
    attacks start, so it is refused outright rather than parsed and ignored. `keep_comments`
    exists for signing callers that build documents themselves; untrusted input drops them.
    """
    if b"<!DOCTYPE" in data.upper():
        raise XmlRefused("a DOCTYPE is not allowed")
    try:
        tree = etree.fromstring(data, _parser(keep_comments=keep_comments)).getroottree()
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"not well-formed XML: {exc}") from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRefused("a DOCTYPE is not allowed")
    return tree.getroot()


def to_bytes(element: Any) -> bytes:
    """Serialize a document (by its root) as UTF-8 with an XML declaration, as IdPs send it."""
    data: bytes = etree.tostring(element.getroottree(), xml_declaration=True, encoding="UTF-8")
    return data
