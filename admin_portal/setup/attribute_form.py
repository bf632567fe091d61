"""The attribute step: per standard claim, the IdP attribute (SAML) or claim (OIDC) names it
is read from, and whether the login requires it.

Names left as the vendor's defaults are not stored as overrides, so the connection keeps
following the vendor profile. Some claims cannot be made optional here: the email (the
login checks its domain against the organization's verified domains) and every attribute
the app team's self-service profile requires.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from admin_portal.page_context import Visit
from broker.management.errors import FieldError, InvalidInput
from broker.upstream.config_fields import STANDARD_CLAIMS

MAX_NAMES = 10
MAX_NAME_LENGTH = 256
_SPLIT = re.compile(r"[,\n]")


@dataclass(frozen=True, slots=True)
class AttributeChoice:
    mapping: dict[str, list[str]]
    required: list[str]
    #: What was typed, per claim, to show back with errors.
    typed: dict[str, str]


def locked_claims(visit: Visit) -> frozenset[str]:
    """Claims this admin may not make optional."""
    profile = visit.profile
    required = {a.name for a in profile.user_attributes if a.required} if profile else set()
    return frozenset({"email", *required} & set(STANDARD_CLAIMS))


def read_attributes(
    form: Mapping[str, Any],
    defaults: Mapping[str, tuple[str, ...]],
    locked: Iterable[str],
) -> AttributeChoice:
    typed: dict[str, str] = {}
    mapping: dict[str, list[str]] = {}
    errors: list[FieldError] = []
    for claim in STANDARD_CLAIMS:
        raw = form.get(f"names_{claim}")
        typed[claim] = raw.strip() if isinstance(raw, str) else ""
        names = [name.strip() for name in _SPLIT.split(typed[claim]) if name.strip()]
        problem = _problem(names)
        if problem:
            errors.append(FieldError(f"/settings/attribute_mapping/{claim}", problem))
        elif names and tuple(names) != tuple(defaults.get(claim, ())):
            mapping[claim] = names
    if errors:
        raise InvalidInput(errors)
    chosen = {claim for claim in STANDARD_CLAIMS if form.get(f"required_{claim}") == "1"}
    required = [claim for claim in STANDARD_CLAIMS if claim in chosen | set(locked)]
    return AttributeChoice(mapping=mapping, required=required, typed=typed)


def _problem(names: list[str]) -> str | None:
    if len(names) > MAX_NAMES:
        return f"Give at most {MAX_NAMES} names"
    for name in names:
        if len(name) > MAX_NAME_LENGTH or not name.isprintable():
            return f"A name is at most {MAX_NAME_LENGTH} printable characters"
    return None
