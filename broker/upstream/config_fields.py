"""Reading a connection's stored settings: the typed readers and checks every connector kind
shares, so SAML and OIDC refuse bad input the same way and name the same fields.

Stored settings are untrusted (the CLI, the management API and the portal write them), and a
`ConfigError` names the field so a form can put the message beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from broker.errors import ConfigError
from broker.upstream.trust import read_ca_bundle

#: The claims a connection can map from its IdP and require.
STANDARD_CLAIMS = ("email", "given_name", "family_name", "name", "groups")

#: Clock skew a connection may allow its IdP: python3-saml hard-codes 300 s, so a connection
#: may choose less, never more; OIDC connections share the bound.
MAX_CLOCK_SKEW_SECONDS = 300
DEFAULT_CLOCK_SKEW_SECONDS = 120

#: The total deadline a connection may set for each request to its IdP (seconds); without
#: one, the deployment's (`GATEHOUSE_UPSTREAM_DEADLINE_SECONDS`, default 10) applies.
REQUEST_TIMEOUT_RANGE = (1, 30)


class ConfigReader:
    """Typed reads of an untrusted mapping; each failure names its field."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = raw

    def string(self, name: str, *, default: str | None = None) -> str:
        value = self._raw.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(name, "is required")
        return value.strip()

    def optional_string(self, name: str) -> str | None:
        value = self._raw.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise ConfigError(name, "must be a string")
        return value.strip()

    def string_list(self, name: str, *, default: list[str] | None = None) -> list[str]:
        value = self._raw.get(name, default)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(name, "must be a list of strings")
        return list(value)

    def integer(self, name: str, *, default: int) -> int:
        value = self._raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, "must be a whole number")
        return value

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self._raw.get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(name, "must be true or false")
        return value

    def choice(
        self, name: str, choices: tuple[str, ...] | Mapping[str, object], default: str
    ) -> str:
        value = self.string(name, default=default)
        if value not in choices:
            raise ConfigError(name, f"must be one of {sorted(choices)}")
        return value

    def clock_skew(self) -> int:
        skew = self.integer("clock_skew_seconds", default=DEFAULT_CLOCK_SKEW_SECONDS)
        if not 0 <= skew <= MAX_CLOCK_SKEW_SECONDS:
            raise ConfigError("clock_skew_seconds", f"must be 0..{MAX_CLOCK_SKEW_SECONDS}")
        return skew

    def request_timeout(self) -> int | None:
        if self._raw.get("request_timeout_seconds") is None:
            return None
        seconds = self.integer("request_timeout_seconds", default=0)
        low, high = REQUEST_TIMEOUT_RANGE
        if not low <= seconds <= high:
            raise ConfigError("request_timeout_seconds", f"must be {low}..{high}")
        return seconds

    def ca_bundle(self) -> tuple[str, ...]:
        """The certificate authorities (PEM, one per certificate) this connection's requests
        to its IdP trust beside the deployment's: an on-premises IdP whose TLS certificate
        the organization's own CA issued (`broker.upstream.trust`)."""
        text = self.optional_string("ca_bundle")
        if text is None:
            return ()
        try:
            return read_ca_bundle(text)
        except ValueError as exc:
            raise ConfigError("ca_bundle", str(exc)) from exc

    def claim_mapping(self, name: str = "attribute_mapping") -> dict[str, tuple[str, ...]]:
        """claim -> the IdP attribute (or claim) names that carry it, in order."""
        raw = self._raw.get(name) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(name, "must map claim names to attribute names")
        check_claim_names(list(raw), name)
        return {str(claim): _names(names, f"{name}.{claim}") for claim, names in raw.items()}

    def required_claims(self) -> tuple[str, ...]:
        return check_claim_names(self._raw.get("required_claims", ["email"]), "required_claims")

    def strategy(self, offered: tuple[str, ...]) -> str | None:
        """Which product the IdP is (`okta`, `adfs`...), as the portal's tile named it: picks
        the setup guide and the vendor's fixes in a diagnosis; the login ignores it."""
        value = self._raw.get("strategy")
        if value is None:
            return None
        if value not in offered:
            raise ConfigError("strategy", f"must be one of {list(offered)}")
        return str(value)


def check_claim_names(names: object, field_name: str) -> tuple[str, ...]:
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise ConfigError(field_name, "must be a list of names")
    unknown = [n for n in names if n not in STANDARD_CLAIMS]
    if unknown:
        raise ConfigError(field_name, f"unknown claims {unknown}; known: {list(STANDARD_CLAIMS)}")
    return tuple(names)


def check_url(url: str, field_name: str) -> str:
    """An absolute http(s) URL. Whether http is acceptable is the outbound policy's call
    (development only), made when the URL is used."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError as exc:  # "https://[x", "https://h:99999"
        raise ConfigError(field_name, "is not a URL") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(field_name, "must be an absolute https URL")
    if parts.fragment or parts.username is not None:
        raise ConfigError(field_name, "must not carry a fragment or credentials")
    return url


def _names(value: object, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(field_name, "must be a non-empty list of attribute names")
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(field_name, "attribute names must be non-empty strings")
    return tuple(value)
