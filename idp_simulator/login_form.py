"""The login form's fields → who logs in, with which scenario (and, for SAML, which signatures).

Both protocols show the same form and read the person from it the same way (`parse_user`);
they differ in their scenario lists and in SAML's "Sign" choice. Kept apart from the web layer
so the rules (scenario by local part, `name=value` attribute lines) are plain functions a test
can call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from idp_simulator.oidc.id_token import JWT_ONLY_CLAIMS
from idp_simulator.oidc.scenarios import OidcScenario, oidc_scenario_for_email
from idp_simulator.saml.idp import SignMode
from idp_simulator.saml.scenarios import Scenario, scenario_for_email
from idp_simulator.user import SimulatedUser

__all__ = [
    "DEFAULT_FORM",
    "OIDC_DEFAULT_FORM",
    "LoginChoice",
    "LoginFormError",
    "OidcLoginChoice",
    "parse_login_form",
    "parse_oidc_login_form",
    "parse_user",
    "resolve_oidc_scenario",
    "resolve_scenario",
]

MAX_FIELD_CHARS = 4_096
_SIGN_MODES: Mapping[str, SignMode] = {
    "assertion": "assertion",
    "response": "response",
    "both": "both",
}

OIDC_DEFAULT_FORM: Mapping[str, str] = {
    "email": "alice@example.com",
    "given_name": "Alice",
    "family_name": "Example",
    "groups": "engineering,admins",
    "attributes": "",
    "scenario": "",
}
"""What the OIDC login page shows first: a user who logs in successfully."""

DEFAULT_FORM: Mapping[str, str] = {**OIDC_DEFAULT_FORM, "sign": "both"}
"""What the SAML login page shows first: the same user, both signatures."""

S = TypeVar("S", Scenario, OidcScenario)


class LoginFormError(ValueError):
    """A field the simulator cannot use; the message is shown above the form."""


@dataclass(frozen=True, slots=True)
class LoginChoice:
    user: SimulatedUser
    scenario: Scenario
    sign: SignMode


@dataclass(frozen=True, slots=True)
class OidcLoginChoice:
    user: SimulatedUser
    scenario: OidcScenario


def parse_user(fields: Mapping[str, str]) -> SimulatedUser:
    """The person the fields describe, whatever the protocol; `LoginFormError` otherwise."""
    for name, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            raise LoginFormError(f"the {name} field is too long")
    email = fields.get("email", "").strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or any(c.isspace() for c in email):
        raise LoginFormError("enter an email address such as alice@example.com")
    return SimulatedUser(
        email=email,
        given_name=fields.get("given_name", "").strip(),
        family_name=fields.get("family_name", "").strip(),
        groups=tuple(g.strip() for g in fields.get("groups", "").split(",") if g.strip()),
        extra_attributes=_attribute_lines(fields.get("attributes", "")),
    )


def parse_login_form(fields: Mapping[str, str]) -> LoginChoice:
    """The SAML form. `scenario` empty means: from the email, else success."""
    user = parse_user(fields)
    sign = _SIGN_MODES.get(fields.get("sign", "").strip() or "both")
    if sign is None:
        raise LoginFormError("sign must be assertion, response or both")
    return LoginChoice(
        user=user, scenario=resolve_scenario(fields.get("scenario", ""), user.email), sign=sign
    )


def parse_oidc_login_form(fields: Mapping[str, str]) -> OidcLoginChoice:
    """The OIDC form. Extra attributes become claims, but not the claims about the token
    itself (`iss`, `exp`, …): those are what the scenarios vary, one documented way each."""
    user = parse_user(fields)
    reserved = sorted(JWT_ONLY_CLAIMS.intersection(user.extra_attributes))
    if reserved:
        raise LoginFormError(
            f"{', '.join(reserved)} cannot be set as an attribute: choose a scenario instead"
        )
    scenario = resolve_oidc_scenario(fields.get("scenario", ""), user.email)
    return OidcLoginChoice(user=user, scenario=scenario)


def resolve_scenario(selected: str, email: str) -> Scenario:
    """An explicit choice wins; then `expired@…` / `alice+expired@…`; then success."""
    return _resolve(selected, email, Scenario, scenario_for_email, Scenario.SUCCESS)


def resolve_oidc_scenario(selected: str, email: str) -> OidcScenario:
    """As `resolve_scenario`, over the OIDC scenario list."""
    return _resolve(selected, email, OidcScenario, oidc_scenario_for_email, OidcScenario.SUCCESS)


def _resolve(
    selected: str,
    email: str,
    named: Callable[[str], S],
    for_email: Callable[[str], S | None],
    default: S,
) -> S:
    selected = selected.strip()
    if selected:
        try:
            return named(selected)
        except ValueError:
            raise LoginFormError(f"unknown scenario {selected!r}") from None
    return for_email(email) or default


def _attribute_lines(text: str) -> dict[str, tuple[str, ...]]:
    """`name=value` per line; a repeated name makes a multi-valued attribute."""
    attributes: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals or not name.strip():
            raise LoginFormError(f"attributes line {number}: write name=value")
        attributes.setdefault(name.strip(), []).append(value.strip())
    return {name: tuple(values) for name, values in attributes.items()}
