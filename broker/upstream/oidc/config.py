"""An OIDC connection's settings: untrusted stored JSON in, a typed, checked value out.

Gatehouse is an OIDC relying party of the customer's IdP here. Its client secret, or the
private key it authenticates with (`private_key_jwt`), is stored encrypted and bound to the
connection (SecretBox associated data), so a ciphertext copied into another connection does
not decrypt. A config that parses is one the connector can open.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Self

from broker.errors import ConfigError
from broker.keys.crypto import SecretBox
from broker.model.vendors import OIDC_STRATEGIES
from broker.upstream.base import ConnectorDeps, UpstreamConnector
from broker.upstream.config_fields import DEFAULT_CLOCK_SKEW_SECONDS, ConfigReader, check_url
from broker.upstream.oidc.vendors import VENDORS, check_vendor_issuer
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.urls import ConnectionEndpoints

TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: Asymmetric JWS algorithms only (RFC 8725 §3.1, §3.2): `none` and HMAC (whose "key" would be
#: a public one, or a shared client secret) never verify an ID token here (R-06, R-07).
SIGNING_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
)  # fmt: skip
DEFAULT_SCOPES = ("openid", "profile", "email")
ENDPOINT_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")


def secret_context(connection_id: str) -> str:
    return f"oidc_client_secret:{connection_id}"


def key_context(connection_id: str) -> str:
    return f"oidc_client_key:{connection_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualEndpoints:
    """Endpoints given by hand, for an OP without a discovery document."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientKey:
    """Gatehouse's own key for `private_key_jwt` (RFC 7523 §2.2): the IdP admin registers the
    public half (the connection publishes it as a JWKS); the private half stays encrypted."""

    private_key_encrypted: str  # base64 of the SecretBox blob
    public_jwk: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcConnectionConfig:
    kind: ClassVar[str] = "oidc"

    issuer: str
    vendor: str = "generic"
    client_id: str
    token_endpoint_auth_method: str = TOKEN_AUTH_METHODS[0]
    client_secret_encrypted: str | None = field(default=None, repr=False)
    client_key: ClientKey | None = None
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    endpoints: ManualEndpoints | None = None
    id_token_algorithms: tuple[str, ...] = SIGNING_ALGORITHMS
    attribute_mapping: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_claims: tuple[str, ...] = ("email",)
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    #: Ask userinfo at every login, not only when the ID token lacks a required claim.
    always_fetch_userinfo: bool = False
    #: The total deadline of each request to this IdP; None: the deployment's default.
    request_timeout_seconds: int | None = None
    #: CAs (PEM) its requests trust beside the deployment's, for an on-premises IdP.
    ca_bundle: tuple[str, ...] = ()
    #: Entra ID only: the tenant named by the issuer, which every ID token's `tid` must be.
    tenant_id: str | None = None
    #: The portal tile it was set up from (`okta`, `jumpcloud`...); `vendor` is what changes
    #: the protocol's behaviour.
    strategy: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        reader = ConfigReader(raw)
        vendor = reader.choice("vendor", VENDORS, "generic")
        issuer = check_url(reader.string("issuer"), "issuer")
        if "?" in issuer:
            raise ConfigError("issuer", "an issuer has no query (OpenID Connect Discovery §2)")
        method = reader.choice(
            "token_endpoint_auth_method", TOKEN_AUTH_METHODS, TOKEN_AUTH_METHODS[0]
        )
        secret = reader.optional_string("client_secret_encrypted")
        key = _client_key(raw.get("client_key"))
        if method == "private_key_jwt" and key is None:
            raise ConfigError("client_key", "private_key_jwt needs the key Gatehouse generates")
        if method != "private_key_jwt" and secret is None:
            raise ConfigError("client_secret", "is required")
        return cls(
            issuer=issuer,
            vendor=vendor,
            client_id=reader.string("client_id"),
            token_endpoint_auth_method=method,
            client_secret_encrypted=secret if method != "private_key_jwt" else None,
            client_key=key if method == "private_key_jwt" else None,
            scopes=_scopes(reader.string_list("scopes", default=list(DEFAULT_SCOPES))),
            endpoints=_endpoints(raw.get("endpoints")),
            id_token_algorithms=_algorithms(
                reader.string_list("id_token_algorithms", default=list(SIGNING_ALGORITHMS))
            ),
            attribute_mapping=reader.claim_mapping(),
            required_claims=reader.required_claims(),
            clock_skew_seconds=reader.clock_skew(),
            always_fetch_userinfo=reader.boolean("always_fetch_userinfo", default=False),
            request_timeout_seconds=reader.request_timeout(),
            ca_bundle=reader.ca_bundle(),
            tenant_id=check_vendor_issuer(VENDORS[vendor], issuer),
            strategy=reader.strategy(OIDC_STRATEGIES),
        )

    def open(self, deps: ConnectorDeps, endpoints: ConnectionEndpoints) -> UpstreamConnector:
        # Imported here: the connector module imports this one for the config type.
        from broker.upstream.oidc.connector import OidcConnector

        return OidcConnector.open(self, deps, endpoints)

    @classmethod
    def describe_unfinished(cls, raw: Mapping[str, object], endpoints: ConnectionEndpoints) -> None:
        """The private_key_jwt key is generated when that method is chosen, with the IdP
        values; before them there is nothing to publish."""
        del raw, endpoints  # the protocol's signature
        return None

    def policy(self, deployment: OutboundPolicy) -> OutboundPolicy:
        """The deployment's outbound policy as this connection's requests use it: trusting
        its own CAs, no other connection's (`broker.upstream.trust`), with its own deadline
        if it sets one."""
        policy = deployment.trusting(self.ca_bundle)
        if self.request_timeout_seconds is not None:
            policy = replace(policy, deadline_seconds=self.request_timeout_seconds)
        return policy

    def to_json(self) -> dict[str, object]:
        """The stored form; `parse(to_json())` gives back an equal config."""
        data: dict[str, object] = {
            "issuer": self.issuer,
            "vendor": self.vendor,
            "client_id": self.client_id,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "scopes": list(self.scopes),
            "id_token_algorithms": list(self.id_token_algorithms),
            "attribute_mapping": {k: list(v) for k, v in self.attribute_mapping.items()},
            "required_claims": list(self.required_claims),
            "clock_skew_seconds": self.clock_skew_seconds,
            "always_fetch_userinfo": self.always_fetch_userinfo,
        }
        if self.client_secret_encrypted is not None:
            data["client_secret_encrypted"] = self.client_secret_encrypted
        if self.client_key is not None:
            data["client_key"] = {
                "private_key_encrypted": self.client_key.private_key_encrypted,
                "public_jwk": dict(self.client_key.public_jwk),
            }
        if self.strategy is not None:
            data["strategy"] = self.strategy
        if self.request_timeout_seconds is not None:
            data["request_timeout_seconds"] = self.request_timeout_seconds
        if self.ca_bundle:
            data["ca_bundle"] = "".join(self.ca_bundle)
        if self.endpoints is not None:
            data["endpoints"] = {
                name: getattr(self.endpoints, name)
                for name in ENDPOINT_FIELDS
                if getattr(self.endpoints, name)
            }
        return data

    def client_secret(self, box: SecretBox, connection_id: str) -> str:
        assert self.client_secret_encrypted is not None
        blob = base64.b64decode(self.client_secret_encrypted)
        return box.decrypt(blob, context=secret_context(connection_id)).decode()

    def warnings(self) -> tuple[str, ...]:
        """Settings that work but weaken the connection; shown to whoever configures it."""
        found = []
        if self.endpoints is not None:
            found.append(
                "Endpoints are set by hand: Gatehouse will not follow the IdP's discovery "
                "document when its endpoints or keys move."
            )
        return tuple(found)


def encrypt_client_secret(box: SecretBox, connection_id: str, secret: str) -> str:
    blob = box.encrypt(secret.encode(), context=secret_context(connection_id))
    return base64.b64encode(blob).decode()


def _scopes(scopes: list[str]) -> tuple[str, ...]:
    if "openid" not in scopes:
        raise ConfigError("scopes", "must include openid")
    for scope in scopes:
        # RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        if not scope or any(not 0x21 <= ord(c) <= 0x7E or c in '"\\' for c in scope):
            raise ConfigError("scopes", f"{scope!r} is not a scope")
    return tuple(dict.fromkeys(scopes))


def _algorithms(algorithms: list[str]) -> tuple[str, ...]:
    unknown = [a for a in algorithms if a not in SIGNING_ALGORITHMS]
    if unknown or not algorithms:
        raise ConfigError(
            "id_token_algorithms", f"choose from {list(SIGNING_ALGORITHMS)}; got {unknown}"
        )
    return tuple(dict.fromkeys(algorithms))


def _endpoints(value: object) -> ManualEndpoints | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError("endpoints", "must map endpoint names to URLs")
    reader = ConfigReader(value)
    unknown = set(value) - set(ENDPOINT_FIELDS)
    if unknown:
        raise ConfigError("endpoints", f"unknown endpoints {sorted(unknown)}")
    userinfo = reader.optional_string("userinfo_endpoint")
    return ManualEndpoints(
        authorization_endpoint=check_url(
            reader.string("authorization_endpoint"), "endpoints.authorization_endpoint"
        ),
        token_endpoint=check_url(reader.string("token_endpoint"), "endpoints.token_endpoint"),
        jwks_uri=check_url(reader.string("jwks_uri"), "endpoints.jwks_uri"),
        userinfo_endpoint=check_url(userinfo, "endpoints.userinfo_endpoint") if userinfo else None,
    )


def _client_key(value: object) -> ClientKey | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError("client_key", "must hold the encrypted key and its public JWK")
    encrypted = value.get("private_key_encrypted")
    public = value.get("public_jwk")
    if not isinstance(encrypted, str) or not isinstance(public, Mapping) or "d" in public:
        raise ConfigError("client_key", "must hold the encrypted key and its public JWK")
    return ClientKey(private_key_encrypted=encrypted, public_jwk=dict(public))
