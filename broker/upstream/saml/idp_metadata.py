"""Reading an IdP's SAML metadata, from a file or a URL.

IdP admins hand over metadata, so this is the usual way a connection is configured. The
document is untrusted: it is parsed with python3-saml's hardened parser (no DTD, no entities,
no network), capped in size, and every certificate is checked like a pasted one (S-42).
python3-saml's own `parse_remote` is not used: it fetches with `urllib.request.urlopen`,
which follows redirects to any scheme (`file:` included) and has no timeout or size cap.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.errors import ConfigError
from broker.upstream.saml.config import BINDINGS, check_certificate_pem

MAX_METADATA_BYTES = 1024 * 1024
_MAX_REDIRECTS = 3
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MD = f"{{{C.NS_MD}}}"
_DS = f"{{{C.NS_DS}}}"


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str  # "redirect" | "post"
    certificates: tuple[str, ...]  # PEM, every signing certificate listed
    warnings: tuple[str, ...] = ()


def parse_idp_metadata(document: bytes, *, entity_id: str | None = None) -> IdpMetadata:
    if len(document) > MAX_METADATA_BYTES:
        raise ConfigError("metadata", "larger than 1 MiB")
    try:
        root = OneLogin_Saml2_XML.to_etree(document)
    except Exception as exc:
        raise ConfigError("metadata", f"not well-formed XML ({type(exc).__name__})") from exc
    descriptors = [
        e
        for e in ([root] if root.tag == f"{_MD}EntityDescriptor" else [])
        + root.findall(f".//{_MD}EntityDescriptor")
        if e.find(f"{_MD}IDPSSODescriptor") is not None
    ]
    if entity_id is not None:
        descriptors = [d for d in descriptors if d.get("entityID") == entity_id]
    if not descriptors:
        raise ConfigError("metadata", "no IdP (IDPSSODescriptor) found")
    if len(descriptors) > 1:
        ids = ", ".join(str(d.get("entityID")) for d in descriptors[:5])
        raise ConfigError("metadata", f"several IdPs in this document; choose one of: {ids}")
    descriptor = descriptors[0]
    found_id = descriptor.get("entityID")
    if not found_id:
        raise ConfigError("metadata", "the IdP has no entityID")
    idp = descriptor.find(f"{_MD}IDPSSODescriptor")
    assert idp is not None
    sso_url, binding = _sso_endpoint(idp)
    certificates, warnings = _signing_certificates(idp)
    return IdpMetadata(
        entity_id=found_id,
        sso_url=sso_url,
        sso_binding=binding,
        certificates=certificates,
        warnings=warnings,
    )


def _sso_endpoint(idp: etree._Element) -> tuple[str, str]:
    services = {
        s.get("Binding"): s.get("Location") for s in idp.findall(f"{_MD}SingleSignOnService")
    }
    for name in ("redirect", "post"):
        location = services.get(BINDINGS[name])
        if location:
            return location, name
    raise ConfigError("metadata", "no SingleSignOnService with the Redirect or POST binding")


def _signing_certificates(idp: etree._Element) -> tuple[tuple[str, ...], tuple[str, ...]]:
    certificates: list[str] = []
    warnings: list[str] = []
    for descriptor in idp.findall(f"{_MD}KeyDescriptor"):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for node in descriptor.iter(f"{_DS}X509Certificate"):
            body = "".join((node.text or "").split())
            pem = "-----BEGIN CERTIFICATE-----\n"
            pem += "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
            pem += "\n-----END CERTIFICATE-----\n"
            certificate = check_certificate_pem(pem, "metadata")
            if pem not in certificates:
                certificates.append(pem)
            subject = certificate.subject.rfc4514_string()
            warnings.append(
                f"certificate {subject} expires {certificate.not_valid_after_utc:%Y-%m-%d}"
            )
    if not certificates:
        raise ConfigError("metadata", "the IdP lists no signing certificate")
    return tuple(certificates), tuple(warnings)


def fetch_idp_metadata(url: str, http: httpx.Client, *, allow_insecure: bool) -> bytes:
    """GET `url` with a timeout, a size cap and our own redirect handling: https only (http
    too in development), at most three hops, and in production never to an address that is
    not globally routable (SSRF: cloud metadata endpoints, the broker's own network)."""
    for _ in range(_MAX_REDIRECTS + 1):
        _check_fetch_target(url, allow_insecure=allow_insecure)
        with http.stream("GET", url, timeout=_TIMEOUT, follow_redirects=False) as response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise ConfigError("metadata_url", f"the server answered {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_METADATA_BYTES:
                    raise ConfigError("metadata_url", "the document is larger than 1 MiB")
            return bytes(body)
    raise ConfigError("metadata_url", "too many redirects")


def _check_fetch_target(url: str, *, allow_insecure: bool) -> None:
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise ConfigError("metadata_url", "must be an https URL")
    if allow_insecure:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise ConfigError("metadata_url", f"cannot resolve {parts.hostname}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise ConfigError("metadata_url", f"{parts.hostname} is not a public address")
