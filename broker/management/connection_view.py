"""What anyone may be shown of a connection: its settings without a secret or a private key
(docs/security.md M-05), the certificates it trusts with their expiry, and the values the
IdP admin types into their IdP (ACS URL, SP entity ID, redirect URI...).

Built field by field from the parsed config, never by dumping the stored form minus a
deny-list: a field added to a config later stays out of every answer until it is named here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.errors import ConfigError
from broker.model.records import Connection
from broker.upstream.oidc.config import ENDPOINT_FIELDS, OidcConnectionConfig
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.urls import endpoints_for

#: Stored fields that only the IdP's values fill in: none of them yet means the connection
#: was begun in the portal and waits for them (connection_setup.py).
IDP_FIELDS = {
    SamlConnectionConfig.kind: ("idp_entity_id", "sso_url", "idp_certificates"),
    OidcConnectionConfig.kind: ("issuer", "client_id"),
}
#: A certificate this close to expiry gets a warning: time for the IdP admin to roll it.
EXPIRY_NOTICE = timedelta(days=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateView:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str  # AB:CD:..., as IdP admin pages show it


@dataclass(frozen=True, slots=True, kw_only=True)
class SamlView:
    idp_entity_id: str
    sso_url: str
    sso_binding: str
    certificates: tuple[CertificateView, ...]
    name_id_format: str
    attribute_profile: str
    attribute_mapping: Mapping[str, tuple[str, ...]]
    required_claims: tuple[str, ...]
    subject_attribute: str | None
    clock_skew_seconds: int
    allow_sha1: bool
    allow_cbc_encryption: bool
    require_assertion_signature: bool
    require_encrypted_assertion: bool
    subject_hint: bool
    strategy: str | None
    #: The CAs its metadata URL fetches trust beside the deployment's.
    ca_certificates: tuple[CertificateView, ...]
    #: The IdP's metadata URL the scheduled refresh re-reads (certificate rollovers);
    #: None when the IdP was given by a document or by hand. Read-only here: changing it
    #: is a settings change (`metadata_url` in a PATCH), which reads it again.
    metadata_url: str | None
    #: For the IdP admin.
    acs_url: str
    sp_entity_id: str
    sp_metadata_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcView:
    issuer: str
    vendor: str
    client_id: str
    token_endpoint_auth_method: str
    #: Whether a client secret is stored; its value is never shown again.
    client_secret_set: bool
    scopes: tuple[str, ...]
    endpoints: Mapping[str, str] | None
    id_token_algorithms: tuple[str, ...]
    attribute_mapping: Mapping[str, tuple[str, ...]]
    required_claims: tuple[str, ...]
    clock_skew_seconds: int
    always_fetch_userinfo: bool
    #: Each request's total deadline toward this IdP; None: the deployment's default.
    request_timeout_seconds: int | None
    strategy: str | None
    #: The CAs its requests to the IdP trust beside the deployment's.
    ca_certificates: tuple[CertificateView, ...]
    #: For the IdP admin: where the IdP sends people back, and (private_key_jwt) where
    #: Gatehouse publishes the public key it authenticates with.
    redirect_uri: str
    jwks_uri: str | None


@dataclass(frozen=True, slots=True)
class LastTest:
    """The outcome of the connection's newest test login (the portal's test step)."""

    passed: bool
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionView:
    id: str
    organization_id: str
    type: str
    name: str
    active: bool
    version: int
    created_at: datetime
    #: None only if the stored settings no longer pass the connector's checks (a rule
    #: tightened since they were saved); `warnings` then says what to fix.
    settings: SamlView | OidcView | None
    warnings: tuple[str, ...]
    #: None: never tested.
    last_test: LastTest | None
    #: When a test last passed, of whatever settings; None: no test ever passed.
    last_passed_at: datetime | None


def describe(
    connection: Connection,
    *,
    issuer: str,
    now: datetime,
    last_test: LastTest | None,
    last_passed_at: datetime | None,
    warnings: tuple[str, ...] = (),
) -> ConnectionView:
    """`warnings`: what the change that produced `connection` noticed (metadata, discovery)
    besides what the stored settings say by themselves. `last_test`, `last_passed_at`: from
    the stored test results (the caller reads them)."""
    settings: SamlView | OidcView | None
    try:
        if connection.kind == SamlConnectionConfig.kind:
            saml = SamlConnectionConfig.parse(connection.config)
            settings = _saml(saml, issuer, connection.id)
            found = saml.warnings() + _expiry_warnings(settings.certificates, now)
        elif connection.kind == OidcConnectionConfig.kind:
            oidc = OidcConnectionConfig.parse(connection.config)
            settings, found = _oidc(oidc, issuer, connection.id), oidc.warnings()
        else:
            raise ConfigError("kind", f"no connector for kind {connection.kind!r}")
        found += _ca_expiry_warnings(settings.ca_certificates, now)
    except ConfigError as exc:
        settings = None
        found = (f"The stored settings no longer pass Gatehouse's checks ({exc}); update them.",)
        if awaiting_idp(connection):
            found = ("Waiting for the identity provider's values (being set up in the portal).",)
    return ConnectionView(
        id=connection.id,
        organization_id=connection.organization_id,
        type=connection.kind,
        name=connection.name,
        active=connection.active,
        version=connection.version,
        created_at=connection.created_at,
        settings=settings,
        warnings=tuple(dict.fromkeys(warnings + found)),
        last_test=last_test,
        last_passed_at=last_passed_at,
    )


def awaiting_idp(connection: Connection) -> bool:
    names = IDP_FIELDS.get(connection.kind, ())
    return bool(names) and not any(connection.config.get(name) for name in names)


def certificate_view(pem: str) -> CertificateView:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest().upper()
    return CertificateView(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        sha256_fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    )


def _saml(config: SamlConnectionConfig, issuer: str, connection_id: str) -> SamlView:
    endpoints = endpoints_for(issuer, connection_id, config.kind)
    return SamlView(
        idp_entity_id=config.idp_entity_id,
        sso_url=config.sso_url,
        sso_binding=config.sso_binding,
        certificates=tuple(certificate_view(pem) for pem in config.idp_certificates),
        name_id_format=config.name_id_format,
        attribute_profile=config.attribute_profile,
        attribute_mapping=dict(config.attribute_mapping),
        required_claims=config.required_claims,
        subject_attribute=config.subject_attribute,
        clock_skew_seconds=config.clock_skew_seconds,
        allow_sha1=config.allow_sha1,
        allow_cbc_encryption=config.allow_cbc_encryption,
        require_assertion_signature=config.require_assertion_signature,
        require_encrypted_assertion=config.require_encrypted_assertion,
        subject_hint=config.subject_hint,
        strategy=config.strategy,
        ca_certificates=tuple(certificate_view(pem) for pem in config.ca_bundle),
        metadata_url=config.metadata_url,
        acs_url=endpoints.callback_url,
        sp_entity_id=endpoints.entity_id,
        sp_metadata_url=endpoints.metadata_url,
    )


def _oidc(config: OidcConnectionConfig, issuer: str, connection_id: str) -> OidcView:
    endpoints = endpoints_for(issuer, connection_id, config.kind)
    manual = config.endpoints
    return OidcView(
        issuer=config.issuer,
        vendor=config.vendor,
        client_id=config.client_id,
        token_endpoint_auth_method=config.token_endpoint_auth_method,
        client_secret_set=config.client_secret_encrypted is not None,
        scopes=config.scopes,
        endpoints=None
        if manual is None
        else {n: getattr(manual, n) for n in ENDPOINT_FIELDS if getattr(manual, n)},
        id_token_algorithms=config.id_token_algorithms,
        attribute_mapping=dict(config.attribute_mapping),
        required_claims=config.required_claims,
        clock_skew_seconds=config.clock_skew_seconds,
        always_fetch_userinfo=config.always_fetch_userinfo,
        request_timeout_seconds=config.request_timeout_seconds,
        strategy=config.strategy,
        ca_certificates=tuple(certificate_view(pem) for pem in config.ca_bundle),
        redirect_uri=endpoints.callback_url,
        jwks_uri=endpoints.metadata_url if config.client_key is not None else None,
    )


def _expiry_warnings(certificates: tuple[CertificateView, ...], now: datetime) -> tuple[str, ...]:
    found = []
    for certificate in certificates:
        day = f"{certificate.not_after:%Y-%m-%d}"
        if certificate.not_after <= now:
            found.append(
                f"The IdP signing certificate {certificate.subject} expired on {day}: ask the "
                "IdP admin for the new one and add it to this connection."
            )
        elif certificate.not_after - now <= EXPIRY_NOTICE:
            found.append(
                f"The IdP signing certificate {certificate.subject} expires on {day}: add "
                "the IdP's next certificate before then (both may be listed meanwhile)."
            )
    return tuple(found)


def _ca_expiry_warnings(
    certificates: tuple[CertificateView, ...], now: datetime
) -> tuple[str, ...]:
    found = []
    for certificate in certificates:
        day = f"{certificate.not_after:%Y-%m-%d}"
        if certificate.not_after <= now:
            found.append(
                f"The certificate authority {certificate.subject} in the CA bundle expired on "
                f"{day}: Gatehouse cannot verify the IdP's TLS certificate with it; give the "
                "CA's current certificate."
            )
        elif certificate.not_after - now <= EXPIRY_NOTICE:
            found.append(
                f"The certificate authority {certificate.subject} in the CA bundle expires on "
                f"{day}: add its next certificate to the bundle before then."
            )
    return tuple(found)
