"""Request rates every instance counts together (`broker.limiter`), read from the
environment. Apart from `broker.settings` to keep that module small; `Settings.rate_limits`
holds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from broker.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitSettings:
    """Requests per minute, counted by every instance together (`broker.limiter`).

    The login routes are counted per client address, which for a company is often one NAT
    address for all its people: 600 a minute is several times a morning login rush of a
    large office. `/token` is called by Auth0 from a handful of addresses for all users,
    so its per-address budget is the deployment's whole peak login rate (1200 a minute),
    and its per-client budget higher still. A failed client authentication counts
    `token_failure_weight` requests against its address (see `broker.web.limits`).
    Portal link redemptions keep their own, lower limits (T-07). SCIM requests whose
    bearer token is refused count in `scim_auth_failures` per address; accepted ones are
    not counted at all (an initial sync is tens of thousands of requests)."""

    authorize: int = 600
    login: int = 600
    callback: int = 600
    token_per_address: int = 1200
    token_per_client: int = 6000
    token_failure_weight: int = 10
    portal_link: int = 30
    portal_link_all: int = 300
    scim_auth_failures: int = 30


#: Environment variable -> RateLimitSettings field.
RATE_LIMIT_VARIABLES = {
    "GATEHOUSE_RATE_LIMIT_AUTHORIZE": "authorize",
    "GATEHOUSE_RATE_LIMIT_LOGIN": "login",
    "GATEHOUSE_RATE_LIMIT_CALLBACK": "callback",
    "GATEHOUSE_RATE_LIMIT_TOKEN": "token_per_address",
    "GATEHOUSE_RATE_LIMIT_TOKEN_CLIENT": "token_per_client",
    "GATEHOUSE_RATE_LIMIT_TOKEN_FAILURE_WEIGHT": "token_failure_weight",
    "GATEHOUSE_RATE_LIMIT_PORTAL_LINK": "portal_link",
    "GATEHOUSE_RATE_LIMIT_PORTAL_LINK_ALL": "portal_link_all",
    "GATEHOUSE_RATE_LIMIT_SCIM_AUTH_FAILURES": "scim_auth_failures",
}


def parse_rate_limit_settings(env_vars: Mapping[str, str]) -> RateLimitSettings:
    values: dict[str, int] = {}
    for variable, name in RATE_LIMIT_VARIABLES.items():
        raw = env_vars.get(variable, "").strip()
        if raw:
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
                raise ConfigError(variable, "must be a positive whole number")
            values[name] = int(raw)
    return RateLimitSettings(**values)
