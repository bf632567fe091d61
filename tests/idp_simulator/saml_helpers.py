"""Test-side SAML helpers: AuthnRequests as an SP would send them, schemas, decoding.

Built with lxml directly (not the simulator's modules) so the tests do not grade the
simulator's XML with its own code.
"""

from __future__ import annotations

import base64
import zlib
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "ds": DS, "md": "urn:oasis:names:tc:SAML:2.0:metadata"}

SP_ENTITY_ID = "http://127.0.0.1:8000/saml/metadata"
ACS_URL = "http://127.0.0.1:8000/saml/acs"
REQUEST_ID = "_0123456789abcdef0123456789abcdef01234567"


def authn_request_xml(
    *,
    request_id: str = REQUEST_ID,
    issuer: str | None = SP_ENTITY_ID,
    acs_url: str | None = ACS_URL,
    force_authn: bool = False,
    name_id_format: str | None = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    extra: str = "",
) -> bytes:
    attributes = f'ID="{request_id}" Version="2.0" IssueInstant="2026-01-15T12:00:00Z"'
    if acs_url is not None:
        attributes += f' AssertionConsumerServiceURL="{acs_url}"'
        attributes += ' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"'
    if force_authn:
        attributes += ' ForceAuthn="true"'
    body = f"<saml:Issuer>{issuer}</saml:Issuer>" if issuer is not None else ""
    if name_id_format is not None:
        body += f'<samlp:NameIDPolicy Format="{name_id_format}" AllowCreate="true"/>'
    return (
        f'<samlp:AuthnRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" {attributes}>'
        f"{body}{extra}</samlp:AuthnRequest>"
    ).encode()


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def redirect_params(xml: bytes, relay_state: str | None = "rs-123") -> dict[str, str]:
    params = {"SAMLRequest": base64.b64encode(deflate(xml)).decode()}
    if relay_state is not None:
        params["RelayState"] = relay_state
    return params


def post_params(xml: bytes, relay_state: str | None = "rs-123") -> dict[str, str]:
    params = {"SAMLRequest": base64.b64encode(xml).decode()}
    if relay_state is not None:
        params["RelayState"] = relay_state
    return params


def parse(xml: bytes) -> Any:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


def decode_response(saml_response_b64: str) -> Any:
    return parse(base64.b64decode(saml_response_b64))


def _schema_dir() -> Path:
    spec = find_spec("onelogin.saml2")
    assert spec is not None
    assert spec.origin is not None
    return Path(spec.origin).parent / "schemas"


@cache
def schema(name: str) -> Any:
    """`saml-schema-protocol-2.0.xsd` or `saml-schema-metadata-2.0.xsd`, as shipped with
    python3-saml (imports resolve to sibling files; no network)."""
    return etree.XMLSchema(etree.parse(str(_schema_dir() / name)))


def assert_schema_valid(name: str, element: Any) -> None:
    xsd = schema(name)
    assert xsd.validate(element), xsd.error_log
