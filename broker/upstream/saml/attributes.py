"""From the IdP's attribute names to our claims.

Every vendor names the same facts differently: Entra ID and ADFS use WS-Federation claim URIs,
Okta and Google Workspace use whatever the admin typed (we list what their setup guides
suggest), LDAP-backed IdPs send OIDs. A profile lists, per claim, the names to look for in
order; a connection may override any claim. Multi-valued attributes stay lists (groups).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_XMLSOAP = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
_MS_IDENTITY = "http://schemas.microsoft.com/identity/claims"
_MS_2008 = "http://schemas.microsoft.com/ws/2008/06/identity/claims"

# LDAP / eduPerson OIDs (RFC 4519, RFC 2798), used by Shibboleth, Keycloak's LDAP mappers.
_OID = {
    "mail": "urn:oid:0.9.2342.19200300.100.1.3",
    "givenName": "urn:oid:2.5.4.42",
    "sn": "urn:oid:2.5.4.4",
    "displayName": "urn:oid:2.16.840.1.113730.3.1.241",
    "cn": "urn:oid:2.5.4.3",
    "isMemberOf": "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
}

_GENERIC: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "mail", "emailAddress", "Email", _OID["mail"], f"{_XMLSOAP}/emailaddress"),
    "given_name": (
        "given_name",
        "givenName",
        "firstName",
        "FirstName",
        _OID["givenName"],
        f"{_XMLSOAP}/givenname",
    ),
    "family_name": (
        "family_name",
        "sn",
        "surname",
        "lastName",
        "LastName",
        _OID["sn"],
        f"{_XMLSOAP}/surname",
    ),
    "name": ("name", "displayName", "cn", _OID["displayName"], _OID["cn"]),
    "groups": ("groups", "memberOf", "Group", "Groups", "Role", "Roles", _OID["isMemberOf"]),
}

PROFILES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "generic": _GENERIC,
    "okta": {
        **_GENERIC,
        "email": ("email", "Email", "mail"),
        "given_name": ("firstName", "givenName", "given_name"),
        "family_name": ("lastName", "surname", "family_name"),
        "name": ("displayName", "name"),
        "groups": ("groups", "Groups"),
    },
    "entra": {
        "email": (f"{_XMLSOAP}/emailaddress",),
        "given_name": (f"{_XMLSOAP}/givenname",),
        "family_name": (f"{_XMLSOAP}/surname",),
        "name": (f"{_MS_IDENTITY}/displayname", f"{_XMLSOAP}/name"),
        "groups": (f"{_MS_2008}/groups", f"{_MS_2008}/role"),
    },
    "adfs": {
        "email": (f"{_XMLSOAP}/emailaddress", f"{_XMLSOAP}/upn"),
        "given_name": (f"{_XMLSOAP}/givenname",),
        "family_name": (f"{_XMLSOAP}/surname",),
        "name": (f"{_XMLSOAP}/name", f"{_MS_IDENTITY}/displayname"),
        "groups": ("http://schemas.xmlsoap.org/claims/Group", f"{_MS_2008}/role"),
    },
    "google": {
        **_GENERIC,
        "email": ("email", "Email", "mail"),
        "given_name": ("firstName", "first_name", "givenName"),
        "family_name": ("lastName", "last_name", "surname"),
        "groups": ("groups", "Groups"),
    },
}


@dataclass(frozen=True, slots=True)
class MappedAttributes:
    email: str | None
    given_name: str | None
    family_name: str | None
    name: str | None
    groups: tuple[str, ...]
    #: Every value of the attribute the email came from: more than one distinct value makes
    #: the email ambiguous, and an ambiguous email must not pick an identity.
    email_values: tuple[str, ...]
    #: Everything the IdP sent, lists kept as lists, for the relying party's own mapping.
    raw: Mapping[str, list[str]]


def map_attributes(
    attributes: Mapping[str, Sequence[str]],
    *,
    profile: str,
    overrides: Mapping[str, tuple[str, ...]],
) -> MappedAttributes:
    names = {**PROFILES[profile], **overrides}

    def values_of(claim: str) -> Sequence[str]:
        for attribute in names.get(claim, ()):
            values = attributes.get(attribute)
            if values:
                return values
        return ()

    def first(claim: str) -> str | None:
        values = values_of(claim)
        return values[0] if values else None

    groups: list[str] = []
    for attribute in names.get("groups", ()):
        for value in attributes.get(attribute, ()):
            if value not in groups:
                groups.append(value)
    return MappedAttributes(
        email=first("email"),
        given_name=first("given_name"),
        family_name=first("family_name"),
        name=first("name"),
        groups=tuple(groups),
        email_values=tuple(values_of("email")),
        raw={k: list(v) for k, v in attributes.items()},
    )


def expected_names(claim: str, *, profile: str, overrides: Mapping[str, tuple[str, ...]]) -> str:
    """For the error that names a missing attribute: what we looked for."""
    names = {**PROFILES[profile], **overrides}.get(claim, ())
    return ", ".join(names[:3]) + (" ..." if len(names) > 3 else "")
