"""Reading an IdP's SAML metadata, from a file or a URL.

IdP admins hand over metadata, so this is the usual way a connection is configured. The
document is untrusted: it is parsed with python3-saml's hardened parser (no DTD, no entities,
no network), capped in size, and every certificate is checked like a pasted one (S-42).
python3-saml's own `parse_remote` is not used: it fetches with `urllib.request.urlopen`,
which follows redirects to any scheme (`file:` included) and has no timeout or size cap; we
fetch through the outbound guard every IdP request shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.errors import ConfigError
from broker.upstream import outbound
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.saml.config import BINDINGS, check_certificate_pem
from broker.upstream.saml.metadata_validity import read_validity

MAX_METADATA_BYTES = 1024 * 1024
_MD = f"{{{C.NS_MD}}}"
_DS = f"{{{C.NS_DS}}}"


@dataclass(frozen=True, slots=True)
class IdpMetadata:
    entity_id: str
    sso_url: str
    sso_binding: str  # "redirect" | "post"
    certificates: tuple[str, ...]  # PEM, every signing certificate listed
    #: The document's own limits (metadata_validity.py): not to be used after
    #: `valid_until`; to be read again within `cache_duration`.
    valid_until: datetime | None = None
    cache_duration: timedelta | None = None


def parse_idp_metadata(document: bytes, *, entity_id: str | None = None) -> IdpMetadata:
    if len(document) > MAX_METADATA_BYTES:
        raise ConfigError(
            "metadata",
            "This document is larger than 1 MiB, and an IdP's metadata is a few kilobytes: "
            "check that you chose your identity provider's metadata file",
        )
    try:
        root = OneLogin_Saml2_XML.to_etree(document)
    except Exception as exc:
        raise ConfigError(
            "metadata",
            f"This is not a metadata document: it is not well-formed XML ({type(exc).__name__})",
        ) from exc
    descriptors = [
        e
        for e in ([root] if root.tag == f"{_MD}EntityDescriptor" else [])
        + root.findall(f".//{_MD}EntityDescriptor")
        if e.find(f"{_MD}IDPSSODescriptor") is not None
    ]
    if entity_id is not None:
        descriptors = [d for d in descriptors if d.get("entityID") == entity_id]
    if not descriptors:
        if next(root.iter(f"{_MD}SPSSODescriptor"), None) is not None:
            # The classic mix-up: Gatehouse's own (or another app's) metadata pasted back.
            raise ConfigError(
                "metadata",
                "This metadata describes a service provider, not an IdP: give your identity "
                "provider's metadata (the document your IdP publishes for this application)",
            )
        raise ConfigError("metadata", "no IdP (IDPSSODescriptor) found in this document")
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
    validity = read_validity({id(e): e for e in (root, descriptor, idp)}.values())
    return IdpMetadata(
        entity_id=found_id,
        sso_url=sso_url,
        sso_binding=binding,
        certificates=_signing_certificates(idp),
        valid_until=validity.valid_until,
        cache_duration=validity.cache_duration,
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


def _signing_certificates(idp: etree._Element) -> tuple[str, ...]:
    """Every signing certificate listed, once each. Their dates are not judged here: the
    parser has no clock, and a note on every certificate ("expires 2035-01-01") gives the
    admin nothing to do. What needs doing (expired, expiring within the notice period) is
    said by the connection's view, which knows the time (`connection_view.describe`)."""
    certificates: list[str] = []
    for descriptor in idp.findall(f"{_MD}KeyDescriptor"):
        if descriptor.get("use") not in (None, "signing"):
            continue
        for node in descriptor.iter(f"{_DS}X509Certificate"):
            body = "".join((node.text or "").split())
            pem = "-----BEGIN CERTIFICATE-----\n"
            pem += "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
            pem += "\n-----END CERTIFICATE-----\n"
            check_certificate_pem(pem, "metadata")
            if pem not in certificates:
                certificates.append(pem)
    if not certificates:
        raise ConfigError("metadata", "the IdP lists no signing certificate")
    return tuple(certificates)


def fetch_idp_metadata(url: str, http: httpx.Client, *, policy: OutboundPolicy) -> bytes:
    """GET `url` through the outbound guard (`broker.upstream.outbound`: https, public
    addresses, same-origin redirects, a timeout and a 1 MiB cap)."""
    try:
        return outbound.get(http, url, policy=policy, max_bytes=MAX_METADATA_BYTES)
    except outbound.OutboundError as exc:
        raise ConfigError(
            "metadata_url", f"Gatehouse could not fetch the metadata: {exc.detail}"
        ) from exc
