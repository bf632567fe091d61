"""A SAML connection's settings: untrusted stored JSON in, a typed, checked value out.

The stored form is what the CLI, the management API and the portal write. Everything is
checked here, once, so the connector can rely on it: a connection that parses is one that
can be opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Self

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from onelogin.saml2.settings import validate_url

from broker.errors import ConfigError
from broker.http import HttpResponse
from broker.model.vendors import SAML_STRATEGIES
from broker.upstream.base import ConnectorDeps, UpstreamConnector
from broker.upstream.config_fields import (
    DEFAULT_CLOCK_SKEW_SECONDS,
    ConfigReader,
    check_url,
)
from broker.upstream.saml.attributes import PROFILES
from broker.upstream.urls import ConnectionEndpoints

BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDINGS = {"redirect": BINDING_REDIRECT, "post": BINDING_POST}

NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
NAMEID_FORMATS = (NAMEID_EMAIL, NAMEID_UNSPECIFIED, NAMEID_PERSISTENT, NAMEID_TRANSIENT)

METADATA_TYPE = "application/samlmetadata+xml"

#: Enough for a rollover (old + new) and a spare; more is a misconfiguration.
MAX_IDP_CERTIFICATES = 4
MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True, kw_only=True)
class SpKeyPair:
    """One of the SP's own key pairs. The private key stays encrypted (SecretBox, bound to the
    connection) until the connector is opened."""

    private_key_encrypted: str  # base64 of the SecretBox blob
    certificate_pem: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SamlConnectionConfig:
    kind: ClassVar[str] = "saml"

    idp_entity_id: str
    sso_url: str
    sso_binding: str = "redirect"  # "redirect" | "post"
    idp_certificates: tuple[str, ...]  # PEM; several at once so a rollover breaks nothing
    name_id_format: str = NAMEID_EMAIL
    attribute_profile: str = "generic"
    #: Per-claim overrides: claim -> the IdP attribute names that carry it, in order.
    attribute_mapping: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_claims: tuple[str, ...] = ("email",)
    #: An immutable IdP attribute (Entra objectidentifier) to key the user on instead of the
    #: NameID; needed when the IdP sends transient NameIDs.
    subject_attribute: str | None = None
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    allow_sha1: bool = False
    #: Accept AES-CBC encrypted assertions (S-22), for an IdP that cannot do AES-GCM.
    allow_cbc_encryption: bool = False
    require_assertion_signature: bool = True
    require_encrypted_assertion: bool = False
    sp_signing: SpKeyPair
    sp_encryption: SpKeyPair
    strategy: str | None = None
    #: CAs (PEM) its metadata URL fetches trust beside the deployment's (an on-premises IdP).
    ca_bundle: tuple[str, ...] = ()
    #: Name the expected person in the AuthnRequest's `<saml:Subject>` (SAML Core §3.4.1: a
    #: requester MAY), so the IdP's login page starts with their address. On by default:
    #: Okta, Entra ID and ADFS take it as a hint. An IdP that refuses requests carrying a
    #: Subject (some ADFS versions) needs it off. Sent only with the emailAddress NameID
    #: format: the Subject's Format is the connection's, and an address is only that one.
    subject_hint: bool = True
    #: Where the IdP publishes its metadata, when the connection was configured from it:
    #: the scheduled refresh (`broker.jobs.saml_metadata_refresh`) re-reads it. None for
    #: values typed in or a document uploaded (and for configs stored before it was kept):
    #: those are never refreshed.
    metadata_url: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        reader = ConfigReader(raw)
        binding = reader.string("sso_binding", default="redirect")
        if binding not in BINDINGS:
            raise ConfigError("sso_binding", f"must be one of {sorted(BINDINGS)}")
        name_id_format = reader.string("name_id_format", default=NAMEID_EMAIL)
        if name_id_format not in NAMEID_FORMATS:
            raise ConfigError("name_id_format", f"must be one of {list(NAMEID_FORMATS)}")
        certificates = reader.string_list("idp_certificates")
        if not 1 <= len(certificates) <= MAX_IDP_CERTIFICATES:
            raise ConfigError(
                "idp_certificates", f"give 1 to {MAX_IDP_CERTIFICATES} signing certificates"
            )
        for pem in certificates:
            check_certificate_pem(pem, "idp_certificates")
        return cls(
            idp_entity_id=reader.string("idp_entity_id"),
            sso_url=check_sso_url(reader.string("sso_url")),
            sso_binding=binding,
            idp_certificates=tuple(certificates),
            name_id_format=name_id_format,
            attribute_profile=check_profile(raw.get("attribute_profile", "generic")),
            attribute_mapping=reader.claim_mapping(),
            required_claims=reader.required_claims(),
            subject_attribute=reader.optional_string("subject_attribute"),
            clock_skew_seconds=reader.clock_skew(),
            allow_sha1=reader.boolean("allow_sha1", default=False),
            allow_cbc_encryption=reader.boolean("allow_cbc_encryption", default=False),
            require_assertion_signature=reader.boolean("require_assertion_signature", default=True),
            require_encrypted_assertion=reader.boolean(
                "require_encrypted_assertion", default=False
            ),
            sp_signing=_pair(raw.get("sp_signing"), "sp_signing"),
            sp_encryption=_pair(raw.get("sp_encryption"), "sp_encryption"),
            strategy=reader.strategy(SAML_STRATEGIES),
            ca_bundle=reader.ca_bundle(),
            subject_hint=reader.boolean("subject_hint", default=True),
            metadata_url=_metadata_url(reader.optional_string("metadata_url")),
        )

    def open(self, deps: ConnectorDeps, endpoints: ConnectionEndpoints) -> UpstreamConnector:
        # Imported here: the connector module imports this one for the config type.
        from broker.upstream.saml.connector import SamlConnector

        return SamlConnector.open(self, deps, endpoints)

    @classmethod
    def describe_unfinished(
        cls, raw: Mapping[str, object], endpoints: ConnectionEndpoints
    ) -> HttpResponse | None:
        from broker.upstream.saml.sp import sp_metadata

        reader = ConfigReader(raw)
        try:
            body = sp_metadata(
                endpoints,
                signing_cert_pem=_pair(raw.get("sp_signing"), "sp_signing").certificate_pem,
                encryption_cert_pem=_pair(
                    raw.get("sp_encryption"), "sp_encryption"
                ).certificate_pem,
                name_id_format=reader.string("name_id_format", default=NAMEID_EMAIL),
                want_assertions_signed=reader.boolean("require_assertion_signature", default=True),
                allow_cbc_encryption=reader.boolean("allow_cbc_encryption", default=False),
            )
        except ConfigError:
            return None
        return HttpResponse(body=body, headers={"content-type": METADATA_TYPE})

    def to_json(self) -> dict[str, object]:
        """The stored form; `parse(to_json())` gives back an equal config."""
        return {
            "idp_entity_id": self.idp_entity_id,
            "sso_url": self.sso_url,
            "sso_binding": self.sso_binding,
            "idp_certificates": list(self.idp_certificates),
            "name_id_format": self.name_id_format,
            "attribute_profile": self.attribute_profile,
            "attribute_mapping": {k: list(v) for k, v in self.attribute_mapping.items()},
            "required_claims": list(self.required_claims),
            "subject_attribute": self.subject_attribute,
            "clock_skew_seconds": self.clock_skew_seconds,
            "allow_sha1": self.allow_sha1,
            "allow_cbc_encryption": self.allow_cbc_encryption,
            "require_assertion_signature": self.require_assertion_signature,
            "require_encrypted_assertion": self.require_encrypted_assertion,
            "subject_hint": self.subject_hint,
            "sp_signing": _pair_json(self.sp_signing),
            "sp_encryption": _pair_json(self.sp_encryption),
            **({"strategy": self.strategy} if self.strategy else {}),
            **({"ca_bundle": "".join(self.ca_bundle)} if self.ca_bundle else {}),
            **({"metadata_url": self.metadata_url} if self.metadata_url else {}),
        }

    def warnings(self) -> tuple[str, ...]:
        """Settings that work but weaken the connection; shown to whoever configures it."""
        found = []
        if self.allow_sha1:
            found.append(
                "SHA-1 signatures are accepted for this connection. SHA-1 is broken; ask the "
                "IdP admin to switch the signing algorithm to RSA-SHA256 and turn this off."
            )
        if self.allow_cbc_encryption:
            found.append(
                "AES-CBC encrypted assertions are accepted for this connection. CBC does not "
                "protect the ciphertext, so a forged one can be probed before any signature "
                "is checked; ask the IdP admin to encrypt with AES-GCM and turn this off."
            )
        if not self.require_assertion_signature:
            found.append(
                "Assertions may arrive unsigned inside a signed response. Most IdPs can sign "
                "the assertion itself; prefer that."
            )
        return tuple(found)


def _pair_json(pair: SpKeyPair) -> dict[str, str]:
    return {
        "private_key_encrypted": pair.private_key_encrypted,
        "certificate_pem": pair.certificate_pem,
    }


def check_profile(profile: object) -> str:
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ConfigError("attribute_profile", f"must be one of {sorted(PROFILES)}")
    return profile


def check_certificate_pem(pem: str, field_name: str) -> x509.Certificate:
    """A certificate, not a private key pasted by mistake, with a key strong enough."""
    if "PRIVATE KEY" in pem:
        raise ConfigError(
            field_name,
            "this is a private key: paste the IdP's signing certificate instead, and treat "
            "the key you pasted as compromised",
        )
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise ConfigError(field_name, "not a PEM X.509 certificate") from exc
    try:
        key = certificate.public_key()
    except ValueError as exc:  # parsed lazily: a certificate whose key bytes are broken
        raise ConfigError(field_name, "the certificate's public key is unreadable") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ConfigError(field_name, f"RSA key of {key.key_size} bits; at least 2048")
    elif not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError(field_name, "only RSA and EC signing keys are supported")
    return certificate


def check_sso_url(url: str) -> str:
    """An absolute http(s) URL that python3-saml also takes: it checks the IdP's SSO URL
    again when the connector opens (host name, no whitespace) and raises there, so a URL
    only it refuses would be stored, then fail every login with a 500."""
    check_url(url, "sso_url")
    if not validate_url(url):
        raise ConfigError(
            "sso_url", "must be an absolute https URL with a full host name and no spaces"
        )
    return url


def _metadata_url(url: str | None) -> str | None:
    """An absolute http(s) URL; where it may point is the outbound guard's call, at every
    fetch (the production policy refuses http and private addresses)."""
    if url is not None:
        check_url(url, "metadata_url")
    return url


def _pair(value: object, field_name: str) -> SpKeyPair:
    if not isinstance(value, Mapping):
        raise ConfigError(field_name, "missing the SP key pair")
    key = value.get("private_key_encrypted")
    cert = value.get("certificate_pem")
    if not isinstance(key, str) or not isinstance(cert, str):
        raise ConfigError(field_name, "missing the SP key pair")
    return SpKeyPair(private_key_encrypted=key, certificate_pem=cert)
