"""Reading an incoming AuthnRequest from the HTTP-Redirect or HTTP-POST binding.

The simulator has no registry of service providers, so it cannot verify a request's signature;
it records whether one was present and trusts nothing else in the request beyond what it needs
to answer. The one thing it does police is the ACS URL: the response is a signed assertion, and
it is only ever posted to an allowed prefix.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from idp_simulator.saml.xmltools import DS, SAML, SAMLP, XmlRefused, parse_xml, qname
from idp_simulator.urls import url_allowed

__all__ = [
    "MAX_ENCODED_CHARS",
    "MAX_RELAY_STATE_CHARS",
    "MAX_XML_BYTES",
    "AuthnRequestError",
    "AuthnRequestInfo",
    "Binding",
    "acs_url_allowed",
    "parse_authn_request",
]

Binding = Literal["redirect", "post"]

MAX_XML_BYTES = 100_000
"""Largest AuthnRequest accepted, after inflating: real ones are a few hundred bytes."""
MAX_ENCODED_CHARS = 140_000
"""Largest `SAMLRequest` parameter looked at, checked before any decoding."""
MAX_RELAY_STATE_CHARS = 8_192
"""RelayState is passed through verbatim, but not without bound (bindings §3.4.3 says 80)."""
MAX_ID_CHARS = 256

_BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

acs_url_allowed = url_allowed
"""`urls.url_allowed` under its SAML name: ACS URLs and OIDC redirect URIs share one rule."""


class AuthnRequestError(ValueError):
    """An AuthnRequest the simulator will not answer; the message is shown on a 400 page."""


@dataclass(frozen=True, slots=True)
class AuthnRequestInfo:
    """What the simulator keeps from an AuthnRequest to build its answer."""

    request_id: str
    issuer: str
    acs_url: str
    force_authn: bool
    name_id_format: str | None
    signed: bool
    relay_state: str | None
    binding: Binding
    #: The `<saml:Subject><saml:NameID>` the SP named (SAML Core §3.4.1): who it expects to
    #: log in. Only a hint: the login form starts with it, the person may change it.
    subject_hint: str | None = None


def parse_authn_request(
    binding: Binding, params: Mapping[str, str], *, allowed_acs_prefixes: tuple[str, ...]
) -> AuthnRequestInfo:
    """Decode, parse and vet the `SAMLRequest` in `params` (query or form fields).

    Redirect: base64 of raw DEFLATE (bindings §3.4.4.1); POST: plain base64 (§3.5.4).
    Signed-ness is `Signature` + `SigAlg` query parameters for Redirect and an enveloped
    `ds:Signature` for POST; neither is verified.
    """
    encoded = params.get("SAMLRequest")
    if not encoded:
        raise AuthnRequestError("the request carries no SAMLRequest parameter")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise AuthnRequestError("the SAMLRequest parameter is too large")
    relay_state = params.get("RelayState")
    if relay_state is not None and len(relay_state) > MAX_RELAY_STATE_CHARS:
        raise AuthnRequestError("the RelayState parameter is too large")
    raw = _b64decode(encoded)
    xml = _inflate(raw) if binding == "redirect" else raw
    if len(xml) > MAX_XML_BYTES:
        raise AuthnRequestError("the AuthnRequest is too large")
    try:
        root = parse_xml(xml)
    except XmlRefused as exc:
        raise AuthnRequestError(f"the AuthnRequest is not acceptable XML: {exc}") from None
    if root.tag != qname(SAMLP, "AuthnRequest"):
        raise AuthnRequestError("the SAMLRequest is not an AuthnRequest")
    if binding == "redirect":
        signed = bool(params.get("Signature")) and bool(params.get("SigAlg"))
    else:
        signed = root.find(qname(DS, "Signature")) is not None
    return AuthnRequestInfo(
        request_id=_request_id(root),
        issuer=_issuer(root),
        acs_url=_acs_url(root, allowed_acs_prefixes),
        force_authn=root.get("ForceAuthn", "false").strip() in ("true", "1"),
        name_id_format=_name_id_format(root),
        signed=signed,
        relay_state=relay_state,
        binding=binding,
        subject_hint=_subject_hint(root),
    )


def _b64decode(encoded: str) -> bytes:
    # Some SPs wrap base64 at 76 columns; whitespace is dropped before strict decoding.
    compact = "".join(encoded.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise AuthnRequestError("the SAMLRequest parameter is not valid base64") from None


def _inflate(data: bytes) -> bytes:
    """Raw DEFLATE, stopped one byte past the limit: a small input cannot make a large output."""
    inflater = zlib.decompressobj(-15)
    try:
        xml = inflater.decompress(data, MAX_XML_BYTES + 1)
    except zlib.error:
        raise AuthnRequestError("the SAMLRequest is not DEFLATE-compressed") from None
    if len(xml) > MAX_XML_BYTES:
        raise AuthnRequestError("the AuthnRequest is too large once inflated")
    if not inflater.eof:
        raise AuthnRequestError("the SAMLRequest is truncated")
    return xml


def _request_id(root: Any) -> str:
    request_id = (root.get("ID") or "").strip()
    if not request_id or len(request_id) > MAX_ID_CHARS:
        raise AuthnRequestError("the AuthnRequest has no usable ID")
    return str(request_id)


def _issuer(root: Any) -> str:
    # Optional in the schema, but without it the simulator cannot name the Audience.
    issuer = root.find(qname(SAML, "Issuer"))
    value = (issuer.text or "").strip() if issuer is not None else ""
    if not value:
        raise AuthnRequestError("the AuthnRequest has no Issuer (the SP entity ID)")
    return str(value)


def _acs_url(root: Any, allowed_prefixes: tuple[str, ...]) -> str:
    binding = root.get("ProtocolBinding")
    if binding is not None and binding.strip() != _BINDING_POST:
        raise AuthnRequestError(f"the simulator answers over HTTP-POST only, not {binding}")
    acs_url = (root.get("AssertionConsumerServiceURL") or "").strip()
    if not acs_url:
        raise AuthnRequestError(
            "the AuthnRequest has no AssertionConsumerServiceURL; the simulator keeps no SP "
            "registry, so it needs the URL in the request"
        )
    if not url_allowed(acs_url, allowed_prefixes):
        raise AuthnRequestError(
            f"the simulator will not post to {acs_url}: allowed ACS URL prefixes are "
            f"{', '.join(allowed_prefixes)} (set IDP_SIM_ALLOWED_ACS)"
        )
    return str(acs_url)


def _subject_hint(root: Any) -> str | None:
    name_id = root.find(f"{qname(SAML, 'Subject')}/{qname(SAML, 'NameID')}")
    if name_id is None or not name_id.text or not name_id.text.strip():
        return None
    return str(name_id.text).strip()


def _name_id_format(root: Any) -> str | None:
    policy = root.find(qname(SAMLP, "NameIDPolicy"))
    if policy is None:
        return None
    value = policy.get("Format")
    return str(value) if value else None
