"""What a guide shows for one connection: Gatehouse's values to paste into the IdP, and the
attributes (SAML) or claims (OIDC) the IdP should send, under the names this connection
reads them from.

Read from the stored config, not the parsed one: a connection begun in the portal does not
parse until the IdP's values arrive, and the guide is what the admin reads before that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from admin_portal.guides.model import Guide
from broker.model.records import Connection
from broker.upstream.config_fields import STANDARD_CLAIMS
from broker.upstream.oidc.config import DEFAULT_SCOPES
from broker.upstream.oidc.vendors import VENDORS
from broker.upstream.saml.attributes import PROFILES
from broker.upstream.urls import endpoints_for

CLAIM_LABELS = {
    "email": "Email address",
    "given_name": "First name",
    "family_name": "Last name",
    "name": "Full name",
    "groups": "Groups",
}
#: The OIDC scope that carries each standard claim (OIDC Core §5.4); groups have none.
CLAIM_SCOPES = {"email": "email", "given_name": "profile", "family_name": "profile",
                "name": "profile"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Value:
    key: str
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class AttributeRow:
    claim: str
    label: str
    #: The name to send (SAML attribute, OIDC claim): the first this connection reads.
    name: str
    #: Every name read, in order (the first present wins).
    names: tuple[str, ...]
    #: Where the value comes from in the vendor's console.
    source: str
    required: bool
    scope: str | None


def sp_values(connection: Connection, issuer: str) -> dict[str, Value]:
    """Gatehouse's values for this connection, by key (`Step.values` names them)."""
    endpoints = endpoints_for(issuer, connection.id, connection.kind)
    if connection.kind == "saml":
        found = [
            Value("acs_url", "ACS URL (reply URL, single sign-on URL)", endpoints.callback_url),
            Value("sp_entity_id", "SP entity ID (audience, identifier)", endpoints.entity_id),
            Value("sp_metadata_url", "SP metadata URL", endpoints.metadata_url),
            Value("acs_url_pattern", "ACS URL validator (a pattern)",
                  "^" + re.escape(endpoints.callback_url) + "$"),
        ]  # fmt: skip
    else:
        given = connection.config.get("scopes")
        scopes = [str(s) for s in given] if isinstance(given, list | tuple) else DEFAULT_SCOPES
        found = [
            Value("redirect_uri", "Redirect URI (callback URL)", endpoints.callback_url),
            Value("scopes", "Scopes", " ".join(scopes)),
        ]
    return {value.key: value for value in found}


def default_names(connection: Connection) -> Mapping[str, tuple[str, ...]]:
    """The vendor's names per claim, before the connection's own mapping."""
    if connection.kind == "saml":
        profile = str(connection.config.get("attribute_profile") or "generic")
        return PROFILES.get(profile, PROFILES["generic"])
    vendor = str(connection.config.get("vendor") or "generic")
    return VENDORS.get(vendor, VENDORS["generic"]).claim_names


def current_names(connection: Connection) -> dict[str, tuple[str, ...]]:
    """Per claim, the names this connection reads it from: its mapping over the vendor's."""
    names = {claim: tuple(default_names(connection).get(claim, ())) for claim in STANDARD_CLAIMS}
    mapping = connection.config.get("attribute_mapping")
    if isinstance(mapping, Mapping):
        for claim, given in mapping.items():
            if claim in names and isinstance(given, list | tuple) and given:
                names[claim] = tuple(str(n) for n in given)
    return names


def required_claims(connection: Connection) -> tuple[str, ...]:
    found = connection.config.get("required_claims")
    if not isinstance(found, list | tuple):
        return ("email",)
    return tuple(str(claim) for claim in found)


def attribute_rows(connection: Connection, guide: Guide) -> list[AttributeRow]:
    """Every standard claim, required ones first: what the IdP should send and as what."""
    required = required_claims(connection)
    rows = []
    for claim, names in current_names(connection).items():
        if not names:
            continue
        rows.append(
            AttributeRow(
                claim=claim,
                label=CLAIM_LABELS[claim],
                name=names[0],
                names=names,
                source=guide.sources.get(claim, ""),
                required=claim in required,
                scope=CLAIM_SCOPES.get(claim) if connection.kind == "oidc" else None,
            )
        )
    return sorted(rows, key=lambda row: not row.required)
