"""The Auth0 OpenID Connect connection Gatehouse wants: pure, so what `connect` sends is
testable without Auth0.

The fields, by what Auth0's dashboard calls them (Authentication > Enterprise > OpenID
Connect):

| dashboard | Management API (`options.`) | value |
| --- | --- | --- |
| Issuer URL | `discovery_url`, `issuer` | Gatehouse's discovery document; its issuer |
| Type: Back Channel | `type: back_channel` | the code flow, the only one Gatehouse serves |
| Client ID / Client Secret | `client_id`, `client_secret` | the Gatehouse client for Auth0 |
| (no field) | `token_endpoint_auth_method` | `client_secret_post` |
| Scopes | `scope` | `openid profile email` |
| IdP Domains | `domain_aliases` | the verified domains (`aliases.py`) |
| Mappings | `attribute_map` | Gatehouse's claims onto the Auth0 profile |
| (no field) | `upstream_params` | `login_hint` forwarded to Gatehouse |

Front Channel (`response_type=id_token`, `form_post`) cannot work: Gatehouse only issues
codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STRATEGY = "oidc"
SCOPE = "openid profile email"

#: What Gatehouse puts in its ID token about the organization (broker/model/claims.py),
#: mapped onto the Auth0 profile under the same names. `raw_attributes` is left out: it is
#: whatever the customer's IdP sent, unbounded, and no app should depend on its shape.
#: `directory_groups` (and its `_truncated` flag) is present only for an organization with
#: an active SCIM directory; the Action skips what the profile does not carry.
ORGANIZATION_CLAIMS = (
    "organization_id", "organization_name", "connection_id", "idp_type", "idp_groups",
    "directory_groups", "directory_groups_truncated",
)  # fmt: skip
PROFILE_CLAIMS = ("email", "email_verified", "name", "given_name", "family_name")

#: Auth0 forwards a parameter of the app's /authorize to the IdP only when the connection
#: names it here; `login_hint` is what lets Gatehouse skip its "work email" page.
UPSTREAM_PARAMS: dict[str, Any] = {"login_hint": {"alias": "login_hint"}}


#: The options `connection_options` sets; every other option is the app team's.
OPTION_NAMES = (
    "type", "discovery_url", "issuer", "client_id", "token_endpoint_auth_method", "scope",
    "upstream_params", "attribute_map", "domain_aliases",
)  # fmt: skip


def attribute_map() -> dict[str, Any]:
    """`use_map`: only what is listed reaches the profile, each from the ID token Gatehouse
    issued (`context.tokenset`); Auth0's connection does not need `/userinfo` for it."""
    return {
        "mapping_mode": "use_map",
        "userinfo_scope": SCOPE,
        "attributes": {
            name: f"${{context.tokenset.{name}}}"
            for name in (*PROFILE_CLAIMS, *ORGANIZATION_CLAIMS)
        },
    }


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery §4: the issuer with `/.well-known/openid-configuration`."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True, slots=True)
class GatehouseSide:
    """What Auth0 must know of Gatehouse. `client_secret` only when the client was just
    registered: Gatehouse keeps a hash, so an existing secret is left as Auth0 has it."""

    issuer: str
    client_id: str
    client_secret: str | None = None


def connection_options(
    side: GatehouseSide, aliases: Sequence[str], current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The whole `options` object: Auth0's PATCH replaces it, so every option Auth0 returned
    that Gatehouse does not own (icon, PKCE, the secret it already has...) is carried over,
    and the `upstream_params` the app team added stay beside `login_hint`."""
    options = dict(current or {})
    upstream = dict(options.get("upstream_params") or {})
    options.update(
        type="back_channel",
        discovery_url=discovery_url(side.issuer),
        issuer=side.issuer,
        client_id=side.client_id,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        scope=SCOPE,
        upstream_params={**upstream, **UPSTREAM_PARAMS},
        attribute_map=attribute_map(),
        domain_aliases=list(aliases),
    )
    if side.client_secret is not None:
        options["client_secret"] = side.client_secret
    return options


def with_aliases(current: Mapping[str, Any], aliases: Sequence[str]) -> dict[str, Any]:
    """`options` as they are, but for the IdP domains (what `sync` sends)."""
    return {**current, "domain_aliases": list(aliases)}
