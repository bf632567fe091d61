"""`/profiles`: self-service profiles, in Auth0's field names where the concept is the same
(`user_attributes`, `branding.logo_url`, `branding.colors.primary`, `allowed_strategies`),
except `required` where Auth0 says `is_optional`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from broker.management import Management, pagination
from broker.management.api.common import Input, ListQuery, list_query
from broker.management.api.operations import Call, Operation, Reply
from broker.management.errors import FieldError, InvalidInput
from broker.management.profiles import (
    COLOR_PATTERN,
    MAX_ATTRIBUTE_DESCRIPTION,
    MAX_DESCRIPTION,
    MAX_INTRODUCTION,
    MAX_NAME,
    MAX_URL,
    ProfileFields,
)
from broker.model.management import Branding, SelfServiceProfile, UserAttribute
from broker.model.vendors import STRATEGIES
from broker.upstream.config_fields import STANDARD_CLAIMS

TAG = "Self-service profiles"

# Documented as enums; the use case checks them, so the CLI gets the same answer.
Strategy = Annotated[str, WithJsonSchema({"type": "string", "enum": list(STRATEGIES)})]
Claim = Annotated[str, WithJsonSchema({"type": "string", "enum": list(STANDARD_CLAIMS)})]


class ProfileUserAttribute(Input):
    name: Claim = Field(description="The claim, as Gatehouse names it")
    description: str = Field(default="", max_length=MAX_ATTRIBUTE_DESCRIPTION)
    required: bool = Field(description="Logins without it fail (Auth0 says is_optional)")


class ProfileColors(Input):
    primary: str = Field(pattern=COLOR_PATTERN, description="#rrggbb")


class ProfileBranding(Input):
    logo_url: str | None = Field(default=None, max_length=MAX_URL, description="An https URL")
    colors: ProfileColors | None = None


class ProfileCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    user_attributes: list[ProfileUserAttribute] | None = Field(
        default=None, description="Default: email, required"
    )
    branding: ProfileBranding | None = None
    allowed_strategies: list[Strategy] | None = Field(
        default=None, min_length=1, description="The IdPs the portal offers; default: all"
    )
    introduction: str = Field(
        default="", max_length=MAX_INTRODUCTION, description="Plain text, shown first"
    )


class ProfileUpdate(Input):
    """Fields sent replace the stored ones whole (a list, the branding); `branding: null`
    removes it."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    user_attributes: list[ProfileUserAttribute] | None = None
    branding: ProfileBranding | None = None
    allowed_strategies: list[Strategy] | None = Field(default=None, min_length=1)
    introduction: str | None = Field(default=None, max_length=MAX_INTRODUCTION)


class ProfileColorsOut(BaseModel):
    primary: str


class ProfileBrandingOut(BaseModel):
    logo_url: str | None
    colors: ProfileColorsOut | None


class ProfileUserAttributeOut(BaseModel):
    name: str
    description: str
    required: bool


class ProfileOut(BaseModel):
    id: str
    name: str
    description: str
    user_attributes: list[ProfileUserAttributeOut]
    branding: ProfileBrandingOut
    allowed_strategies: list[str]
    introduction: str
    created_at: datetime
    updated_at: datetime


class ProfileList(BaseModel):
    items: list[ProfileOut]
    next_cursor: str | None


def profile_out(profile: SelfServiceProfile) -> ProfileOut:
    color = profile.branding.primary_color
    return ProfileOut(
        id=profile.id,
        name=profile.name,
        description=profile.description,
        user_attributes=[
            ProfileUserAttributeOut(name=a.name, description=a.description, required=a.required)
            for a in profile.user_attributes
        ],
        branding=ProfileBrandingOut(
            logo_url=profile.branding.logo_url,
            colors=ProfileColorsOut(primary=color) if color else None,
        ),
        allowed_strategies=list(profile.allowed_strategies),
        introduction=profile.introduction,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


def _fields(body: ProfileCreate | ProfileUpdate) -> ProfileFields:
    return ProfileFields(
        name=body.name,
        description=body.description,
        user_attributes=_attributes(body.user_attributes),
        branding=_branding(body.branding),
        allowed_strategies=body.allowed_strategies,
        introduction=body.introduction,
    )


def _attributes(given: list[ProfileUserAttribute] | None) -> list[UserAttribute] | None:
    if given is None:
        return None
    return [UserAttribute(name=a.name, description=a.description, required=a.required)
            for a in given]  # fmt: skip


def _branding(given: ProfileBranding | None) -> Branding | None:
    """Auth0's `colors.primary` is the domain's `primary_color`."""
    if given is None:
        return None
    primary = given.colors.primary if given.colors else None
    return Branding(logo_url=given.logo_url, primary_color=primary)


def operations(management: Management) -> list[Operation]:
    profiles = management.profiles

    def create(call: Call) -> Reply:
        assert isinstance(call.body, ProfileCreate)
        created = profiles.create(call.principal.actor, _fields(call.body))
        return Reply(201, profile_out(created), location=f"/api/v1/profiles/{created.id}")

    def list_all(call: Call) -> Reply:
        query = list_query(call)
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda after, limit: profiles.page(after=after, limit=limit),
            lambda p: (p.created_at, p.id),
        )
        items = [profile_out(p) for p in page.items]
        return Reply(body=ProfileList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        return Reply(body=profile_out(profiles.get(call.path["profile_id"])))

    def update(call: Call) -> Reply:
        assert isinstance(call.body, ProfileUpdate)
        given = call.body.model_fields_set
        nulls = [f for f in sorted(given - {"branding"}) if getattr(call.body, f) is None]
        if nulls:
            raise InvalidInput([FieldError(f"/{f}", "must not be null") for f in nulls])
        fields = _fields(call.body)
        if "branding" in given and call.body.branding is None:
            fields = replace(fields, branding=Branding())
        updated = profiles.update(call.principal.actor, call.path["profile_id"], fields)
        return Reply(body=profile_out(updated))

    def delete(call: Call) -> Reply:
        profiles.delete(call.principal.actor, call.path["profile_id"])
        return Reply(204)

    read, write = "profiles:read", "profiles:write"
    item = "/profiles/{profile_id}"
    return [
        Operation(method="POST", path="/profiles", operation_id="createProfile",
                  summary="Create a self-service profile", tag=TAG, scope=write,
                  handler=create, body=ProfileCreate, response=ProfileOut, status=201,
                  errors=(), idempotent_post=True),
        Operation(method="GET", path="/profiles", operation_id="listProfiles",
                  summary="List self-service profiles, oldest first", tag=TAG, scope=read,
                  handler=list_all, query=ListQuery, response=ProfileList, errors=()),
        Operation(method="GET", path=item, operation_id="getProfile",
                  summary="Read a self-service profile", tag=TAG, scope=read, handler=get,
                  response=ProfileOut),
        Operation(method="PATCH", path=item, operation_id="updateProfile",
                  summary="Change a self-service profile", tag=TAG, scope=write,
                  handler=update, body=ProfileUpdate, response=ProfileOut),
        Operation(method="DELETE", path=item, operation_id="deleteProfile",
                  summary="Delete a self-service profile", tag=TAG, scope=write,
                  handler=delete, status=204,
                  description="Portal links that named it keep working, with the "
                  "portal's defaults."),
    ]  # fmt: skip
