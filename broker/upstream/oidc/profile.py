"""From verified claims (ID token, then userinfo) to the neutral `UpstreamIdentity`.

Who the person is: the issuer and its `sub` (Entra ID: `oid`, pinned to the tenant's `tid`),
never the email, which many IdPs let users or admins change (the "nOAuth" takeover, R-15,
R-17). The email itself is accepted only as the IdP states it:

- `email_verified`, when the source of the email says anything, must be JSON `true`; a
  `false` or a string `"true"` is refused, with a page that says so. (Absent is not refused:
  Entra never sends it. Gatehouse still requires the address to be in a domain the
  organization verified, which the login service checks for every connection.)
- `email` and `email_verified` come from the same source (R-14): an email from userinfo is
  never vouched for by an ID token's `email_verified`, or the reverse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from broker.model.reasons import Reason
from broker.model.records import UpstreamIdentity
from broker.upstream.base import UpstreamIncomplete, UpstreamInvalid, UpstreamPolicyRefusal
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.vendors import VENDORS

#: JWT and protocol plumbing, not facts about the person: kept out of `raw_attributes`.
_PLUMBING = frozenset(
    ("iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash", "azp", "auth_time",
     "jti", "sid", "uti", "rh", "_claim_names", "_claim_sources", "hasgroups")
)  # fmt: skip
_OVERAGE_HINT = (
    "Entra ID sent a groups overage marker instead of groups (the user is in more groups than "
    "fit in a token); in the app registration, emit only the groups assigned to the application"
)


def build_identity(
    config: OidcConnectionConfig, id_claims: Mapping[str, Any], userinfo: Mapping[str, Any] | None
) -> UpstreamIdentity:
    sources = [id_claims] if userinfo is None else [id_claims, userinfo]
    names = {**VENDORS[config.vendor].claim_names, **config.attribute_mapping}
    email = _email(sources, names["email"])
    groups, overage = _groups(id_claims, sources, names["groups"])
    values: dict[str, Any] = {
        "email": email,
        "given_name": _first_string(sources, names["given_name"]),
        "family_name": _first_string(sources, names["family_name"]),
        "name": _first_string(sources, names["name"]),
        "groups": groups or None,
    }
    missing = tuple(claim for claim in config.required_claims if not values.get(claim))
    if missing:
        hints = [f"{claim}: {', '.join(names[claim])}" for claim in missing]
        if overage and "groups" in missing:
            hints.append(_OVERAGE_HINT)
        received = sorted({k for source in sources for k in source if k not in _PLUMBING})
        facts = {"received_claims": ", ".join(received)[:2000] or "(none)"}
        if overage:
            facts["groups_overage"] = "yes"
        raise UpstreamIncomplete(missing, looked_for="; ".join(hints), facts=facts)
    raw: dict[str, Any] = {}
    for source in reversed(sources):
        raw |= {k: v for k, v in source.items() if k not in _PLUMBING}
    if overage:
        raw["groups_overage"] = True
    auth_time = id_claims.get("auth_time")
    return UpstreamIdentity(
        subject=_subject(config, id_claims),
        auth_time=datetime.fromtimestamp(auth_time, UTC) if auth_time is not None else None,
        email=email,
        given_name=values["given_name"],
        family_name=values["family_name"],
        name=values["name"],
        groups=groups,
        hosted_domain=_hosted_domain(config, id_claims),
        raw_attributes=raw,
    )


def _subject(config: OidcConnectionConfig, claims: Mapping[str, Any]) -> str:
    """The issuer is part of the key: if a connection is pointed at another IdP, that IdP's
    `sub` values cannot land on people the previous one asserted."""
    if config.vendor != "entra":
        return f"{config.issuer}#{claims['sub']}"
    tid, oid = claims.get("tid"), claims.get("oid")
    if tid != config.tenant_id:
        raise UpstreamInvalid(
            Reason.WRONG_TENANT,
            detail=f"tid {str(tid)[:64]!r}",
            facts={"expected_tenant": str(config.tenant_id), "actual_tenant": str(tid)[:64]},
        )
    if not isinstance(oid, str) or not oid:
        raise UpstreamInvalid(Reason.MISSING_SUBJECT, detail="no oid claim")
    return f"{config.issuer}#{oid}"


def _hosted_domain(config: OidcConnectionConfig, claims: Mapping[str, Any]) -> str | None:
    if config.vendor != "google":
        return None
    hd = claims.get("hd")
    if not isinstance(hd, str) or not hd:
        raise UpstreamPolicyRefusal(
            Reason.CONSUMER_ACCOUNT,
            detail="no hd claim: not a Google Workspace account",
            facts={"hd": "(none)", "email": str(claims.get("email", "(none)"))[:300]},
        )
    return hd.strip().lower()


def _email(sources: list[Mapping[str, Any]], names: tuple[str, ...]) -> str | None:
    for source in sources:
        for name in names:
            value = source.get(name)
            if not isinstance(value, str) or not value:
                continue
            verified = source.get("email_verified", True)
            if name == "email" and verified is not True:
                raise UpstreamPolicyRefusal(
                    Reason.EMAIL_NOT_VERIFIED,
                    detail=f"email_verified is {verified!r}",
                    facts={"email": value[:300], "email_verified": json.dumps(verified)[:50]},
                )
            return value
    return None


def _first_string(sources: list[Mapping[str, Any]], names: tuple[str, ...]) -> str | None:
    for source in sources:
        for name in names:
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
    return None


def _groups(
    id_claims: Mapping[str, Any], sources: list[Mapping[str, Any]], names: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    claim_names = id_claims.get("_claim_names")
    overage = id_claims.get("hasgroups") is True or (
        isinstance(claim_names, Mapping) and "groups" in claim_names
    )
    for source in sources:
        for name in names:
            value = source.get(name)
            if isinstance(value, str) and value:
                return (value,), overage
            if isinstance(value, list) and value:
                # A boolean is an int to Python, and not a group name to anyone.
                kept = (v for v in value if isinstance(v, str | int) and not isinstance(v, bool))
                return tuple(str(v) for v in kept), overage
    return (), overage
