"""What differs between OIDC IdPs: claim names, login hints, and the checks a vendor needs.

Most OPs (Okta, JumpCloud, OneLogin, PingOne, Keycloak, any generic OP) follow OIDC Core's
standard claims, so `generic` serves them. Two vendors need more, and getting them wrong is an
account takeover (docs/security.md R-15, R-16):

- **Microsoft Entra ID**: the issuer names one tenant (`.../{tenant-id}/v2.0`); the
  multi-tenant endpoints (`common`, `organizations`, `consumers`) would let any tenant in the
  world log in, so they are refused. The user is `tid` + `oid` (`sub` is pairwise per app and
  `email` is mutable). Past 200 groups Entra sends an overage marker instead of groups.
- **Google Workspace**: every Google account, consumer Gmail included, can log in at
  `accounts.google.com`; only the `hd` claim says which Workspace domain the account
  belongs to, and it must be one the organization verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from broker.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str
    #: claim -> the IdP claims that carry it, in order.
    claim_names: Mapping[str, tuple[str, ...]]
    #: An authorize parameter that pre-selects the user's domain at the IdP (Entra's
    #: `domain_hint`, Google's `hd`), filled from the login hint.
    domain_hint_parameter: str | None = None
    #: The issuer a connection of this vendor may have, when the vendor fixes it, and how
    #: to say it to an admin.
    issuer_pattern: re.Pattern[str] | None = None
    issuer_hint: str = ""


_STANDARD: Mapping[str, tuple[str, ...]] = {
    "email": ("email",),
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "name": ("name",),
    "groups": ("groups",),
}

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ENTRA_ISSUER = re.compile(rf"https://login\.microsoftonline\.com/(?P<tid>{GUID})/v2\.0")
GOOGLE_ISSUER = re.compile(r"https://accounts\.google\.com")

VENDORS: Mapping[str, Vendor] = {
    "generic": Vendor("generic", _STANDARD),
    "okta": Vendor("okta", _STANDARD),
    "entra": Vendor(
        "entra",
        # preferred_username is the UPN, whose domain Entra requires to be verified in the
        # tenant; `email` needs an optional-claim setting many tenants never make.
        {**_STANDARD, "email": ("email", "preferred_username", "upn")},
        domain_hint_parameter="domain_hint",
        issuer_pattern=ENTRA_ISSUER,
        issuer_hint="https://login.microsoftonline.com/<tenant id>/v2.0",
    ),
    "google": Vendor(
        "google",
        _STANDARD,
        domain_hint_parameter="hd",
        issuer_pattern=GOOGLE_ISSUER,
        issuer_hint="https://accounts.google.com",
    ),
}


def check_vendor_issuer(vendor: Vendor, issuer: str) -> str | None:
    """Refuse an issuer the vendor cannot have; returns the Entra tenant id, if any."""
    if vendor.issuer_pattern is None:
        return None
    match = vendor.issuer_pattern.fullmatch(issuer)
    if match is not None:
        return match.groupdict().get("tid")
    message = f"a {vendor.name} connection's issuer is {vendor.issuer_hint}"
    if vendor.name == "entra":
        tenant = urlsplit(issuer).path.strip("/").split("/")[0] or "no tenant"
        message = (
            f"use your tenant's issuer, {vendor.issuer_hint} ({tenant} is not a tenant id: "
            "the common, organizations and consumers endpoints would let any Microsoft "
            "account sign in)"
        )
    raise ConfigError("issuer", message)
