"""The configure step's forms, read into the `settings` mapping every door gives
`Connections.update` (connection_settings.py names them): nothing here parses metadata or
certificates, the use case does, the same way for the API, the CLI and the portal.

SAML takes one of three sources, each its own form on the page: a metadata URL, a metadata
file, or the values by hand (entity ID, SSO URL, and the certificate as a file, PEM or DER,
or pasted); a fourth form, once the IdP's values are saved, holds the options (whether the
AuthnRequest names the person signing in: `subject_hint`).

OIDC takes the issuer, the client ID, the authentication method and the client
secret, which is write-only: it is never put back into a form. The two forms that make
Gatehouse fetch from the IdP (a metadata URL, an issuer) also take the CA bundle of an
on-premises IdP whose certificate the organization's own CA issued; left empty, the stored
one is kept.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile

from broker.management.errors import FieldError, InvalidInput
from broker.upstream.oidc.config import TOKEN_AUTH_METHODS

SAML_SOURCES = ("url", "file", "manual", "options")
#: What the manual SAML form and the OIDC form show back after a refusal (never a secret).
SAML_TYPED = ("metadata_url", "idp_entity_id", "sso_url", "certificate_text", "ca_bundle")
OIDC_TYPED = ("issuer", "client_id", "token_endpoint_auth_method", "ca_bundle")
#: Pasted PEM that a refused form shows again, unless it holds a private key.
_PASTED = ("certificate_text", "ca_bundle")


@dataclass(frozen=True, slots=True)
class SettingsChange:
    settings: dict[str, object]
    client_secret: str | None = None
    #: The form's values as typed, to show back with the errors.
    typed: Mapping[str, str] = field(default_factory=dict)
    source: str = ""


def shown_back(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The typed values a refused form shows again. A private key pasted where a
    certificate goes is a secret: it is dropped, never echoed into a page."""
    typed = {name: text(form, name) for name in names}
    for name in _PASTED:
        if "PRIVATE KEY" in typed.get(name, ""):
            typed[name] = ""
    return typed


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def upload(form: Mapping[str, Any], name: str) -> bytes:
    """The uploaded file's bytes; empty when no file was chosen."""
    value = form.get(name)
    if isinstance(value, UploadFile):
        return await value.read()
    return b""


async def read_saml(form: Mapping[str, Any], stored: Mapping[str, object]) -> SettingsChange:
    """`stored`: the connection's config, so values it already has may be left out."""
    source = text(form, "source")
    typed = shown_back(form, SAML_TYPED)
    if source == "url":
        if not typed["metadata_url"]:
            raise InvalidInput.at("/settings/metadata_url", "is required")
        given = {"metadata_url": typed["metadata_url"], **ca_bundle(form)}
        return SettingsChange(given, typed=typed, source=source)
    if source == "file":
        document = await upload(form, "metadata_file")
        if not document:
            raise InvalidInput.at("/settings/metadata_xml", "Choose the metadata file to upload")
        return SettingsChange({"metadata_xml": document}, typed=typed, source=source)
    if source == "options":
        # A checkbox sends nothing when unticked: its absence is "off".
        hint = form.get("subject_hint") == "1"
        return SettingsChange({"subject_hint": hint}, typed=typed, source=source)
    if source != "manual":
        raise InvalidInput.at("/settings", "Choose how to give your identity provider's values")
    settings: dict[str, object] = {
        name: typed[name] for name in ("idp_entity_id", "sso_url") if typed[name]
    }
    pasted = text(form, "certificate_text")  # a key pasted here must reach the check
    certificate = certificate_text(await upload(form, "certificate_file")) or pasted
    if certificate:
        settings["certificates"] = [certificate]
    missing = [
        FieldError(f"/settings/{name}", "is required")
        for name, stored_name in (
            ("idp_entity_id", "idp_entity_id"),
            ("sso_url", "sso_url"),
            ("certificates", "idp_certificates"),
        )
        if name not in settings and not stored.get(stored_name)
    ]
    if missing:
        raise InvalidInput(missing)
    return SettingsChange(settings, typed=typed, source=source)


def ca_bundle(form: Mapping[str, Any]) -> dict[str, object]:
    """The CA bundle pasted, as a setting; none when the box is empty (the stored one is
    kept). Checked by the use case, like every other setting."""
    pasted = text(form, "ca_bundle")
    return {"ca_bundle": pasted} if pasted else {}


def certificate_text(data: bytes) -> str:
    """An uploaded certificate as the text the settings take: PEM as it is, DER (a binary
    .cer) as base64. Anything else is left to the certificate check to refuse."""
    if not data.strip():
        return ""
    if b"-----BEGIN" in data:
        return data.decode("ascii", errors="replace")
    return base64.b64encode(data).decode()


def read_oidc(form: Mapping[str, Any], stored: Mapping[str, object]) -> SettingsChange:
    typed = shown_back(form, OIDC_TYPED)
    method = typed["token_endpoint_auth_method"] or TOKEN_AUTH_METHODS[0]
    if method not in TOKEN_AUTH_METHODS:
        raise InvalidInput.at("/settings/token_endpoint_auth_method", "Choose one of the methods")
    settings: dict[str, object] = {"token_endpoint_auth_method": method, **ca_bundle(form)}
    missing = []
    for name in ("issuer", "client_id"):
        if typed[name]:
            settings[name] = typed[name]
        elif not stored.get(name):
            missing.append(FieldError(f"/settings/{name}", "is required"))
    if missing:
        raise InvalidInput(missing)
    secret = form.get("client_secret")
    client_secret = secret.strip() if isinstance(secret, str) and secret.strip() else None
    return SettingsChange(settings, client_secret=client_secret, typed=typed, source="oidc")
