"""The connections resource's request and response models.

Requests are the shapes only: whether a value works (a certificate, an issuer, a claim name)
is the connector's parse to say, behind the use case, so the API cannot accept a config the
broker would not open. Secrets are write-only (`client_secret`); responses carry
`client_secret_set` instead, and never a private key (M-05).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    Field,
    RootModel,
    SecretStr,
    SkipValidation,
    ValidationError,
)
from pydantic_core import InitErrorDetails

from broker.management.api.common import Input
from broker.upstream.trust import MAX_BUNDLE_BYTES, MAX_BUNDLE_CERTIFICATES

Name = Annotated[str, Field(min_length=1, max_length=200)]
ClaimMapping = Annotated[
    dict[str, list[str]],
    Field(description="claim (email, given_name, family_name, name, groups) -> the IdP "
          "attribute or claim names that carry it, in order"),
]  # fmt: skip
CaBundle = Annotated[
    str,
    Field(max_length=MAX_BUNDLE_BYTES,
          description=f"PEM, 1 to {MAX_BUNDLE_CERTIFICATES} CA certificates (basicConstraints "
          "CA:TRUE): for an IdP whose TLS certificate the organization's own certificate "
          "authority issued. Its requests trust them beside the public CAs and the "
          "deployment's GATEHOUSE_UPSTREAM_CA_FILE; no other connection's do. Null: none"),
]  # fmt: skip


class ClaimOptions(Input):
    attribute_mapping: ClaimMapping | None = None
    required_claims: list[str] | None = Field(
        default=None, description="claims every login must carry; default [email]"
    )
    clock_skew_seconds: int | None = Field(default=None, ge=0, le=300)
    strategy: str | None = Field(
        default=None,
        description="the IdP product (okta, entra, adfs...): picks the portal's guide",
    )


class SamlSettingsIn(ClaimOptions):
    """Give the IdP by `metadata_url`, by `metadata_xml`, or by `idp_entity_id`, `sso_url`
    and `certificates`. On an update, metadata replaces every IdP value; values given one by
    one replace only themselves (a certificate rollover: list the old and the new)."""

    metadata_url: str | None = Field(default=None, max_length=2048)
    metadata_xml: str | None = Field(default=None, max_length=1024 * 1024)
    idp_entity_id: str | None = Field(default=None, max_length=1024)
    sso_url: str | None = Field(default=None, max_length=2048)
    sso_binding: Literal["redirect", "post"] | None = None
    certificates: list[Annotated[str, Field(max_length=16384)]] | None = Field(
        default=None, max_length=4, description="IdP signing certificates, PEM or base64 DER"
    )
    name_id_format: str | None = None
    attribute_profile: str | None = Field(
        default=None, description="generic, okta, entra, google or adfs"
    )
    subject_attribute: str | None = None
    allow_sha1: bool | None = None
    allow_cbc_encryption: bool | None = Field(
        default=None,
        description="accept AES-CBC encrypted assertions (default false: AES-GCM only); "
        "for an IdP that cannot encrypt with AES-GCM",
    )
    require_assertion_signature: bool | None = None
    require_encrypted_assertion: bool | None = None
    subject_hint: bool | None = Field(
        default=None,
        description="name the person's email in the AuthnRequest Subject (default true); "
        "turn off for an IdP that refuses requests carrying a Subject",
    )
    ca_bundle: CaBundle | None = None


class OidcEndpointsIn(Input):
    authorization_endpoint: str = Field(max_length=2048)
    token_endpoint: str = Field(max_length=2048)
    jwks_uri: str = Field(max_length=2048)
    userinfo_endpoint: str | None = Field(default=None, max_length=2048)


class OidcSettingsUpdate(ClaimOptions):
    issuer: str | None = Field(default=None, max_length=2048)
    vendor: str | None = Field(default=None, description="generic, okta, entra or google")
    client_id: str | None = Field(default=None, min_length=1, max_length=1024)
    client_secret: SecretStr | None = Field(
        default=None, min_length=1, max_length=4096, description="write-only; never returned"
    )
    token_endpoint_auth_method: (
        Literal["client_secret_basic", "client_secret_post", "private_key_jwt"] | None
    ) = None
    scopes: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=50)
    endpoints: OidcEndpointsIn | None = Field(
        default=None, description="only for an IdP without a discovery document"
    )
    id_token_algorithms: list[str] | None = None
    always_fetch_userinfo: bool | None = None
    request_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=30,
        description="total deadline of each request to this IdP, in seconds (default: the "
        "deployment's GATEHOUSE_UPSTREAM_DEADLINE_SECONDS)",
    )
    ca_bundle: CaBundle | None = None


class OidcSettingsCreate(OidcSettingsUpdate):
    issuer: str = Field(max_length=2048)
    client_id: str = Field(min_length=1, max_length=1024)


_ACTIVE = (
    "true: logins route to it at once (the same check as activateConnection); default "
    "false: stored, but routes no login until activated, e.g. once a test passed"
)


class SamlConnectionCreate(Input):
    type: Literal["saml"]
    name: Name | None = None
    active: bool = Field(default=False, description=_ACTIVE)
    settings: SamlSettingsIn


class OidcConnectionCreate(Input):
    type: Literal["oidc"]
    name: Name | None = None
    active: bool = Field(default=False, description=_ACTIVE)
    settings: OidcSettingsCreate


class ConnectionCreate(
    RootModel[Annotated[SamlConnectionCreate | OidcConnectionCreate, Field(discriminator="type")]]
):
    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: Any = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        """pydantic puts the union's tag first in an error's location (`saml`, `settings`,
        `sso_url`); the request has no such member, so the tag is dropped and the pointer
        is `/settings/sso_url`."""
        try:
            return super().model_validate_json(
                json_data, strict=strict, extra=extra, context=context, by_alias=by_alias,
                by_name=by_name,
            )  # fmt: skip
        except ValidationError as exc:
            raise _untagged(exc) from None


class ConnectionUpdate(Input):
    """`settings` is validated against the connection's own type (SAML or OIDC), hence
    after the connection is read; errors still point at `/settings/...`."""

    name: Name | None = None
    settings: Annotated[SamlSettingsIn | OidcSettingsUpdate | None, SkipValidation] = None


class CertificateOut(BaseModel):
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime = Field(description="after this the IdP's signatures are refused")
    sha256_fingerprint: str


_CA_CERTIFICATES = "the connection's own CA bundle (ca_bundle), trusted for its IdP's TLS"


class SamlSettingsOut(BaseModel):
    idp_entity_id: str
    sso_url: str
    sso_binding: Literal["redirect", "post"]
    certificates: list[CertificateOut]
    name_id_format: str
    attribute_profile: str
    attribute_mapping: dict[str, list[str]]
    required_claims: list[str]
    subject_attribute: str | None
    clock_skew_seconds: int
    allow_sha1: bool
    allow_cbc_encryption: bool = Field(description="AES-CBC encrypted assertions accepted")
    require_assertion_signature: bool
    require_encrypted_assertion: bool
    subject_hint: bool = Field(description="the person's email sent in the AuthnRequest Subject")
    strategy: str | None
    ca_certificates: list[CertificateOut] = Field(description=_CA_CERTIFICATES)
    metadata_url: str | None = Field(
        description="read-only: the IdP metadata URL Gatehouse re-reads at least daily (new "
        "signing certificates are trusted as the IdP publishes them); null when the IdP was "
        "given by metadata_xml or field by field"
    )
    acs_url: str = Field(description="for the IdP admin: the ACS (Reply) URL")
    sp_entity_id: str = Field(description="for the IdP admin: the Audience / SP entity ID")
    sp_metadata_url: str = Field(description="for the IdP admin: Gatehouse's SP metadata")


class OidcSettingsOut(BaseModel):
    issuer: str
    vendor: str
    client_id: str
    token_endpoint_auth_method: str
    client_secret_set: bool = Field(description="whether a secret is stored (never shown)")
    scopes: list[str]
    endpoints: dict[str, str] | None
    id_token_algorithms: list[str]
    attribute_mapping: dict[str, list[str]]
    required_claims: list[str]
    clock_skew_seconds: int
    always_fetch_userinfo: bool
    request_timeout_seconds: int | None
    strategy: str | None
    ca_certificates: list[CertificateOut] = Field(description=_CA_CERTIFICATES)
    redirect_uri: str = Field(description="for the IdP admin: the redirect (callback) URI")
    jwks_uri: str | None = Field(
        description="for the IdP admin (private_key_jwt): Gatehouse's public key set"
    )


class LastTestOut(BaseModel):
    passed: bool
    at: datetime


class ConnectionOutBase(BaseModel):
    id: str
    type: str
    organization_id: str
    name: str
    active: bool = Field(description="whether logins route to it")
    version: int = Field(description="increases with every change")
    created_at: datetime
    settings: object | None = Field(
        description="null only if the stored settings no longer pass Gatehouse's checks"
    )
    warnings: list[str] = Field(description="what weakens the connection or will break it")
    last_test: LastTestOut | None = Field(
        description="the newest test login's outcome (the portal's test step); null: never tested"
    )
    last_passed_at: datetime | None = Field(
        description="when a test login last passed, of whatever settings; null: none ever passed"
    )


class SamlConnectionOut(ConnectionOutBase):
    type: Literal["saml"]
    settings: SamlSettingsOut | None


class OidcConnectionOut(ConnectionOutBase):
    type: Literal["oidc"]
    settings: OidcSettingsOut | None


class ConnectionOut(
    RootModel[Annotated[SamlConnectionOut | OidcConnectionOut, Field(discriminator="type")]]
):
    pass


class ConnectionList(BaseModel):
    items: list[ConnectionOut]
    next_cursor: str | None


_TAGS = ("saml", "oidc")


def _untagged(exc: ValidationError) -> ValidationError:
    details: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        location = error["loc"]
        if location and location[0] in _TAGS:
            location = location[1:]
        elif error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            location = ("type",)
        detail = InitErrorDetails(type=error["type"], loc=location, input=error["input"])
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details)
