"""A connection's settings as a caller gives them, turned into the stored config.

The settings arrive as a mapping shaped like the API's `settings` object (the CLI and the
portal build the same mapping), and the typed boundary is the connector's own
`Config.parse`: the very parse `open_connection` runs at login, so a config stored here is
one the broker opens. What this module adds around the parse is what only a caller-facing
layer can do: fetch IdP metadata through the outbound guard (M-08), accept a certificate as
PEM or base64 DER, generate keys and encrypt secrets, and turn every `ConfigError(field)`
into a field error pointing into the request (`/settings/<field>`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

import httpx
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from broker.errors import ConfigError
from broker.keys.crypto import SecretBox
from broker.management.connection_view import certificate_view
from broker.management.errors import InvalidInput
from broker.upstream import outbound
from broker.upstream.config_fields import ConfigReader
from broker.upstream.oidc.config import (
    ENDPOINT_FIELDS,
    TOKEN_AUTH_METHODS,
    OidcConnectionConfig,
    encrypt_client_secret,
)
from broker.upstream.oidc.setup import new_client_key
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.saml.config import SamlConnectionConfig, check_certificate_pem
from broker.upstream.saml.idp_metadata import IdpMetadata, fetch_idp_metadata, parse_idp_metadata

#: Where a SAML connection's IdP values come from: metadata, or the values themselves.
SAML_SOURCES = ("metadata_url", "metadata_xml")
SAML_IDP_VALUES = ("idp_entity_id", "sso_url", "sso_binding", "certificates")
SAML_OPTIONS = (
    "name_id_format", "attribute_profile", "attribute_mapping", "required_claims",
    "subject_attribute", "clock_skew_seconds", "allow_sha1", "allow_cbc_encryption",
    "require_assertion_signature", "require_encrypted_assertion", "strategy", "ca_bundle",
    "subject_hint",
)  # fmt: skip
OIDC_SETTINGS = (
    "issuer", "vendor", "client_id", "token_endpoint_auth_method", "scopes", "endpoints",
    "id_token_algorithms", "attribute_mapping", "required_claims", "clock_skew_seconds",
    "always_fetch_userinfo", "strategy", "request_timeout_seconds", "ca_bundle",
)  # fmt: skip
MAX_NAME = 200

#: Stored config field -> the settings field a caller gave it as.
_SETTINGS_NAME = {"idp_certificates": "certificates"}


def pointer(field: str) -> str:
    """`endpoints.token_endpoint` -> `/settings/endpoints/token_endpoint` (RFC 6901)."""
    parts = field.split(".")
    parts[0] = _SETTINGS_NAME.get(parts[0], parts[0])
    return "/settings/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@contextmanager
def field_errors(renamed: Mapping[str, str] | None = None) -> Iterator[None]:
    """A `ConfigError` inside becomes InvalidInput at the field the caller gave: `renamed`
    points the IdP values read from metadata at the metadata field they came from."""
    try:
        yield
    except ConfigError as exc:
        field = (renamed or {}).get(exc.field.split(".")[0], exc.field)
        raise InvalidInput.at(pointer(field), exc.message) from exc


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or any(not ch.isprintable() for ch in cleaned):
        raise InvalidInput.at("/name", f"1 to {MAX_NAME} printable characters")
    return cleaned


def refuse_unknown(settings: Mapping[str, object], known: tuple[str, ...]) -> None:
    """Callers other than the API (whose models forbid extra fields) get the same answer:
    nothing outside the known settings reaches the stored config (M-04)."""
    for name in settings:
        if name not in known:
            raise InvalidInput.at(pointer(name), "this field is not accepted here")


# -- TLS toward the IdP ---------------------------------------------------------------------


def check_ca_bundle(settings: Mapping[str, object], *, now: datetime) -> None:
    """A CA bundle `settings` gives is parsed as the connector parses it, and refused if one
    of its certificates has expired: TLS with it would fail while the admin believes the
    setup done. One that expires later, in a working connection, is warned about
    (connection_view.py)."""
    if settings.get("ca_bundle") is None:
        return
    with field_errors():
        certificates = ConfigReader({"ca_bundle": settings["ca_bundle"]}).ca_bundle()
    for pem in certificates:
        view = certificate_view(pem)
        if view.not_after <= now:
            raise InvalidInput.at(
                pointer("ca_bundle"), f"The certificate authority {view.subject} expired on "
                f"{view.not_after:%Y-%m-%d}: give its current certificate",
            )  # fmt: skip


def fetch_policy(
    policy: OutboundPolicy,
    base: Mapping[str, object],
    settings: Mapping[str, object],
    *,
    now: datetime,
) -> OutboundPolicy:
    """The policy of a fetch made while saving `settings` over `base` (the IdP's metadata):
    trusting the CA bundle the connection will have, the one given or else the one stored,
    and no other connection's."""
    check_ca_bundle(settings, now=now)
    with field_errors():
        return policy.trusting(ConfigReader({**base, **settings}).ca_bundle())


# -- SAML ---------------------------------------------------------------------------------


def read_saml_idp(
    settings: Mapping[str, object],
    http: httpx.Client,
    policy: OutboundPolicy,
    *,
    refuse_expired_at: datetime | None = None,
) -> tuple[dict[str, object], dict[str, str]]:
    """The IdP values `settings` gives, as stored config fields, with the error renames
    for `field_errors`. Nothing is said here about certificates that are fine (a
    certificate valid for years needs no note); expiry notes come from the connection's
    view, which knows the time. Metadata replaces all IdP values;
    given one by one, only those given are returned (an update keeps the others).

    `refuse_expired_at`: a connection's first IdP values (a new connection) may not trust
    a certificate already expired then: its IdP signs with another one, so the first login
    would fail on a signature while the admin believes the setup done. A working
    connection's certificates are only warned about (describe): python3-saml does not
    check a certificate's dates, and an IdP that still signs with an expired one keeps
    working until its admin rolls it over."""
    given = [name for name in (*SAML_SOURCES, "idp_values") if _gives(settings, name)]
    if len(given) > 1:
        raise InvalidInput.at(
            pointer(given[1] if given[1] != "idp_values" else _first_value(settings)),
            "give metadata_url, metadata_xml, or the IdP values, not several",
        )
    if "metadata_url" in given:
        url = settings["metadata_url"]
        if not isinstance(url, str):
            raise InvalidInput.at(pointer("metadata_url"), "must be a URL")
        with field_errors({"metadata": "metadata_url"}):
            idp = parse_idp_metadata(fetch_idp_metadata(url, http, policy=policy))
        _refuse_expired_metadata(idp, "metadata_url", refuse_expired_at)
        # Kept, so the scheduled refresh re-reads it (broker.jobs.saml_metadata_refresh).
        fields = {**_idp_fields(idp), "metadata_url": url}
        return fields, dict.fromkeys(_IDP_CONFIG, "metadata_url")
    if "metadata_xml" in given:
        document = settings["metadata_xml"]
        if not isinstance(document, str | bytes):
            raise InvalidInput.at(pointer("metadata_xml"), "must be the XML document")
        with field_errors({"metadata": "metadata_xml"}):
            idp = parse_idp_metadata(document.encode() if isinstance(document, str) else document)
        _refuse_expired_metadata(idp, "metadata_xml", refuse_expired_at)
        # A document given by hand replaces what a URL gave: nothing to refresh from now on.
        fields = {**_idp_fields(idp), "metadata_url": None}
        return fields, dict.fromkeys(_IDP_CONFIG, "metadata_xml")
    fields = {n: settings[n] for n in SAML_IDP_VALUES[:3] if settings.get(n) is not None}
    certificates = settings.get("certificates")
    if certificates is not None:
        if not isinstance(certificates, list | tuple):
            raise InvalidInput.at(pointer("certificates"), "must be a list of certificates")
        fields["idp_certificates"] = [
            parse_certificate(c, i, refuse_expired_at=refuse_expired_at)
            for i, c in enumerate(certificates)
        ]
    return fields, {}


def first_values_at(base: Mapping[str, object], now: datetime) -> datetime | None:
    """`now` when `base` (a stored SAML config) has no IdP values yet, so the values given
    are a new connection's first (`read_saml_idp`'s `refuse_expired_at`); else None."""
    return None if any(base.get(name) for name in _IDP_CONFIG) else now


def require_saml_idp(fields: Mapping[str, object]) -> None:
    """A new connection needs every IdP value, from metadata or typed in."""
    if not fields:
        raise InvalidInput.at(
            "/settings", "give metadata_url, metadata_xml, or idp_entity_id, sso_url and "
            "certificates"
        )  # fmt: skip
    for name in ("idp_entity_id", "sso_url", "idp_certificates"):
        if not fields.get(name):
            raise InvalidInput.at(pointer(name), "is required without metadata")


def parse_certificate(
    value: object, index: int, *, refuse_expired_at: datetime | None = None
) -> str:
    """An IdP signing certificate as PEM, or as the base64 DER an IdP's admin page (or a
    metadata document's `X509Certificate`) shows; stored as canonical PEM."""
    where = f"/settings/certificates/{index}"
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput.at(where, "must be a certificate, PEM or base64 DER")
    text = value.strip()
    if "-----BEGIN" not in text:
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except ValueError as exc:
            raise InvalidInput.at(where, "not a certificate: give it as PEM or base64 DER") from exc
        try:
            text = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
        except ValueError as exc:
            raise InvalidInput.at(where, _not_a_certificate(der)) from exc
    try:
        certificate = check_certificate_pem(text, "certificates")
    except ConfigError as exc:
        raise InvalidInput.at(where, exc.message) from exc
    expired = certificate.not_valid_after_utc
    if refuse_expired_at is not None and expired <= refuse_expired_at:
        raise InvalidInput.at(
            where, f"This certificate expired on {expired:%Y-%m-%d}: give the certificate your "
            "identity provider signs with now",
        )  # fmt: skip
    return certificate.public_bytes(Encoding.PEM).decode()


#: PFX ::= SEQUENCE { version INTEGER 3, authSafe ContentInfo (id-data) ...} (RFC 7292).
_PKCS12_VERSION = bytes.fromhex("020103")
_PKCS7_DATA = bytes.fromhex("06092a864886f70d010701")


def _not_a_certificate(der: bytes) -> str:
    """Why a DER file is refused, said plainly when it holds a private key (a .p12/.pfx
    bundle or a bare key, exported by mistake, T-11): the key is then not kept, and the
    admin should treat it as exposed. Never a message that quotes the value."""
    try:
        serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    else:
        return ("this is a private key: give the IdP's signing certificate instead, and "
                "treat this key as compromised")  # fmt: skip
    head = der[:32]
    if head[:1] == b"\x30" and _PKCS12_VERSION in head[:8] and _PKCS7_DATA in head:
        return ("this is a PKCS#12 file (.p12 or .pfx), which holds a private key: give only "
                "the IdP's signing certificate (.cer, .crt or .pem), and treat the key as "
                "compromised")  # fmt: skip
    return "not a certificate: give it as PEM or base64 DER"


def _refuse_expired_metadata(idp: IdpMetadata, field: str, at: datetime | None) -> None:
    """Metadata whose every signing certificate has expired (one expired beside a current one
    is a rollover in progress, and fine)."""
    if at is None:
        return
    ends = [
        x509.load_pem_x509_certificate(p.encode()).not_valid_after_utc for p in idp.certificates
    ]
    if all(end <= at for end in ends):
        raise InvalidInput.at(
            pointer(field), f"This certificate expired on {max(ends):%Y-%m-%d} (the signing "
            "certificate in this metadata): download your identity provider's current metadata",
        )  # fmt: skip


def saml_config(raw: Mapping[str, object], renamed: Mapping[str, str]) -> dict[str, object]:
    """The stored form, through the connector's own parse."""
    with field_errors(renamed):
        return SamlConnectionConfig.parse(raw).to_json()


def check_sso_url(
    fields: Mapping[str, object], renamed: Mapping[str, str], *, production: bool
) -> None:
    """The browser is sent to the SSO URL with the AuthnRequest: https in production."""
    url = fields.get("sso_url")
    if production and isinstance(url, str) and not url.startswith("https://"):
        raise InvalidInput.at(pointer(renamed.get("sso_url", "sso_url")), "must be https")


_IDP_CONFIG = ("idp_entity_id", "sso_url", "sso_binding", "idp_certificates")


def _idp_fields(idp: IdpMetadata) -> dict[str, object]:
    return {
        "idp_entity_id": idp.entity_id,
        "sso_url": idp.sso_url,
        "sso_binding": idp.sso_binding,
        "idp_certificates": list(idp.certificates),
    }


def _gives(settings: Mapping[str, object], name: str) -> bool:
    if name == "idp_values":
        return any(settings.get(value) is not None for value in SAML_IDP_VALUES)
    return settings.get(name) is not None


def _first_value(settings: Mapping[str, object]) -> str:
    return next(name for name in SAML_IDP_VALUES if settings.get(name) is not None)


# -- OIDC ---------------------------------------------------------------------------------


def oidc_config(
    current: Mapping[str, object],
    changes: Mapping[str, object],
    *,
    client_secret: str | None,
    box: SecretBox,
    connection_id: str,
) -> dict[str, object]:
    """`changes` over `current` (empty for a new connection); a null change goes back to
    the default. The secret is encrypted bound to the connection; `private_key_jwt` gets a
    key Gatehouse generates (kept across updates), and takes no secret."""
    raw = {**current, **changes}
    for name, value in changes.items():
        if value is None:
            del raw[name]
    method = raw.get("token_endpoint_auth_method", TOKEN_AUTH_METHODS[0])
    if method == "private_key_jwt":
        if client_secret is not None:
            raise InvalidInput.at(
                pointer("client_secret"), "private_key_jwt authenticates with Gatehouse's key"
            )
        raw.pop("client_secret_encrypted", None)
        if "client_key" not in raw:
            raw["client_key"] = new_client_key(box, connection_id)
    else:
        raw.pop("client_key", None)
        if client_secret is not None:
            raw["client_secret_encrypted"] = encrypt_client_secret(
                box, connection_id, client_secret
            )
    with field_errors():
        return OidcConnectionConfig.parse(raw).to_json()


def check_oidc_urls(config: OidcConnectionConfig, policy: OutboundPolicy) -> None:
    """The issuer and any endpoint given by hand, checked by the outbound guard when they are
    written (M-08), not only when a login first uses them: a hand-given endpoint is never
    fetched here, so without this a private address would be stored silently."""
    urls = {"issuer": config.issuer}
    if config.endpoints is not None:
        for name in ENDPOINT_FIELDS:
            value = getattr(config.endpoints, name)
            if value:
                urls[f"endpoints.{name}"] = value
    for field, url in urls.items():
        try:
            outbound.check_url(url, policy)
        except outbound.OutboundError as exc:
            raise InvalidInput.at(pointer(field), exc.detail) from exc
