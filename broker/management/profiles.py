"""Self-service profiles: what the portal offers one kind of customer (which IdPs, which
attributes their IdP must send, how the pages look, what they say first).

Profiles are the app team's, not an organization's: one profile serves every customer of a
kind, as Auth0's self-service profiles do. Everything here ends up on a page a customer's IT
admin reads, so each field is checked for what the portal can safely show: the logo is an
https URL (no mixed content, no `javascript:`), the colour is `#rrggbb` (it goes into a
style, so nothing else may), texts are plain and length-capped (rendered escaped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from broker.management.deps import ManagementDeps, record
from broker.management.errors import FieldError, InvalidInput, ResourceNotFound
from broker.model.management import Branding, SelfServiceProfile, UserAttribute
from broker.model.opaque import new_id
from broker.model.vendors import STRATEGIES
from broker.store import NotFound, UnitOfWork
from broker.store.protocols import PageKey
from broker.upstream.config_fields import STANDARD_CLAIMS

MAX_NAME = 200
MAX_DESCRIPTION = 500
MAX_INTRODUCTION = 2000
MAX_ATTRIBUTE_DESCRIPTION = 200
MAX_URL = 2048
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileFields:
    """The fields a caller sets. On create, None takes the default; on update, None leaves
    the field as it is. `branding` replaces the whole branding (Branding() clears it)."""

    name: str | None = None
    description: str | None = None
    user_attributes: Sequence[UserAttribute] | None = None
    branding: Branding | None = None
    allowed_strategies: Sequence[str] | None = None
    introduction: str | None = None


class Profiles:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create(self, actor: str, fields: ProfileFields) -> SelfServiceProfile:
        if fields.name is None:
            raise InvalidInput.at("/name", "a name is required")
        now = self._deps.clock.now()
        profile = _checked(
            SelfServiceProfile(id=new_id("ssp"), name="", created_at=now, updated_at=now), fields
        )
        with self._deps.store.unit_of_work() as uow:
            uow.profiles.add(profile)
            record(uow, self._deps, "profile.created", actor=actor,
                   profile_id=profile.id, name=profile.name)  # fmt: skip
        return profile

    def get(self, profile_id: str) -> SelfServiceProfile:
        with self._deps.store.unit_of_work() as uow:
            return _get(uow, profile_id)

    def page(self, *, after: PageKey | None, limit: int) -> list[SelfServiceProfile]:
        with self._deps.store.unit_of_work() as uow:
            return list(uow.profiles.page(after=after, limit=limit))

    def update(self, actor: str, profile_id: str, fields: ProfileFields) -> SelfServiceProfile:
        with self._deps.store.unit_of_work() as uow:
            current = _get(uow, profile_id)
            changed = _checked(current, fields)
            if changed == current:
                return current
            changed = replace(changed, updated_at=self._deps.clock.now())
            try:
                uow.profiles.save(changed)
            except NotFound as exc:  # deleted meanwhile
                raise ResourceNotFound(f"self-service profile {profile_id}") from exc
            names = [f for f in _FIELDS if getattr(changed, f) != getattr(current, f)]
            record(uow, self._deps, "profile.updated", actor=actor,
                   profile_id=profile_id, changed=names)  # fmt: skip
        return changed

    def delete(self, actor: str, profile_id: str) -> None:
        """Portal links that named it keep working, with the portal's defaults (the store
        clears their `profile_id`): a link already mailed to a customer must not break."""
        with self._deps.store.unit_of_work() as uow:
            profile = _get(uow, profile_id)
            try:
                uow.profiles.delete(profile_id)
            except NotFound as exc:
                raise ResourceNotFound(f"self-service profile {profile_id}") from exc
            record(uow, self._deps, "profile.deleted", actor=actor,
                   profile_id=profile_id, name=profile.name)  # fmt: skip


_FIELDS = (
    "name", "description", "user_attributes", "branding", "allowed_strategies", "introduction",
)  # fmt: skip


def _get(uow: UnitOfWork, profile_id: str) -> SelfServiceProfile:
    try:
        return uow.profiles.get(profile_id)
    except NotFound as exc:
        raise ResourceNotFound(f"self-service profile {profile_id}") from exc


def _checked(base: SelfServiceProfile, fields: ProfileFields) -> SelfServiceProfile:
    """`base` with `fields` applied, every field checked; all the errors at once, each with
    the JSON Pointer of the management API's body (the CLI and the portal show the same)."""
    errors: list[FieldError] = []
    changes: dict[str, object] = {}
    if fields.name is not None:
        changes["name"] = _line(fields.name, "/name", MAX_NAME, errors, required=True)
    if fields.description is not None:
        changes["description"] = _line(fields.description, "/description", MAX_DESCRIPTION,
                                       errors)  # fmt: skip
    if fields.introduction is not None:
        changes["introduction"] = _text(fields.introduction, errors)
    if fields.user_attributes is not None:
        changes["user_attributes"] = _attributes(fields.user_attributes, errors)
    if fields.branding is not None:
        changes["branding"] = _branding(fields.branding, errors)
    if fields.allowed_strategies is not None:
        changes["allowed_strategies"] = _strategies(fields.allowed_strategies, errors)
    if errors:
        raise InvalidInput(errors)
    return replace(base, **changes)  # type: ignore[arg-type]


def _line(
    value: str, pointer: str, limit: int, errors: list[FieldError], *, required: bool = False
) -> str:
    cleaned = " ".join(value.split())
    if required and not cleaned:
        errors.append(FieldError(pointer, "must not be empty"))
    elif len(cleaned) > limit or not cleaned.isprintable():
        errors.append(FieldError(pointer, f"at most {limit} printable characters"))
    return cleaned


def _text(value: str, errors: list[FieldError]) -> str:
    """Plain text with line breaks; other control characters are refused rather than
    stripped, so what the app team wrote is what the customer reads."""
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_INTRODUCTION:
        errors.append(FieldError("/introduction", f"at most {MAX_INTRODUCTION} characters"))
    elif any(not (ch.isprintable() or ch in "\n\t") for ch in text):
        errors.append(FieldError("/introduction", "plain text: no control characters"))
    return text


def _attributes(
    attributes: Sequence[UserAttribute], errors: list[FieldError]
) -> tuple[UserAttribute, ...]:
    seen: set[str] = set()
    checked: list[UserAttribute] = []
    for index, attribute in enumerate(attributes):
        at = f"/user_attributes/{index}"
        if attribute.name not in STANDARD_CLAIMS:
            errors.append(FieldError(f"{at}/name", f"one of {', '.join(STANDARD_CLAIMS)}"))
        elif attribute.name in seen:
            errors.append(FieldError(f"{at}/name", "listed twice"))
        seen.add(attribute.name)
        description = _line(attribute.description, f"{at}/description",
                            MAX_ATTRIBUTE_DESCRIPTION, errors)  # fmt: skip
        checked.append(replace(attribute, description=description))
    return tuple(checked)


def _branding(branding: Branding, errors: list[FieldError]) -> Branding:
    logo_url, color = branding.logo_url, branding.primary_color
    if logo_url is not None and not _is_https_url(logo_url):
        errors.append(FieldError("/branding/logo_url", "an absolute https URL, without "
                                 f"credentials, at most {MAX_URL} characters"))  # fmt: skip
    if color is not None:
        if len(color) != 7 or color[0] != "#" or not _is_hex(color[1:]):
            errors.append(FieldError("/branding/colors/primary", "a colour as #rrggbb"))
        color = color.lower()
    return Branding(logo_url=logo_url, primary_color=color)


def _is_https_url(url: str) -> bool:
    if len(url) > MAX_URL or any(ch.isspace() or not ch.isprintable() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


def _is_hex(digits: str) -> bool:
    return all(ch in "0123456789abcdefABCDEF" for ch in digits)


def _strategies(strategies: Sequence[str], errors: list[FieldError]) -> tuple[str, ...]:
    if not strategies:
        errors.append(FieldError("/allowed_strategies", "at least one"))
    for index, strategy in enumerate(strategies):
        if strategy not in STRATEGIES:
            errors.append(FieldError(f"/allowed_strategies/{index}",
                                     f"one of {', '.join(STRATEGIES)}"))  # fmt: skip
    return tuple(dict.fromkeys(strategies))
