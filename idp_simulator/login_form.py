"""The login form's fields → who logs in, with which scenario and which signatures.

Kept apart from the web layer so the rules (scenario by local part, `name=value` attribute
lines) are plain functions a test can call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from idp_simulator.idp import SignMode, SimulatedUser
from idp_simulator.scenarios import Scenario, scenario_for_email

__all__ = [
    "DEFAULT_FORM",
    "LoginChoice",
    "LoginFormError",
    "parse_login_form",
    "resolve_scenario",
]

MAX_FIELD_CHARS = 4_096
_SIGN_MODES: Mapping[str, SignMode] = {
    "assertion": "assertion",
    "response": "response",
    "both": "both",
}

DEFAULT_FORM: Mapping[str, str] = {
    "email": "alice@example.com",
    "given_name": "Alice",
    "family_name": "Example",
    "groups": "engineering,admins",
    "attributes": "",
    "scenario": "",
    "sign": "both",
}
"""What the login page shows first: a user who logs in successfully."""


class LoginFormError(ValueError):
    """A field the simulator cannot use; the message is shown above the form."""


@dataclass(frozen=True, slots=True)
class LoginChoice:
    user: SimulatedUser
    scenario: Scenario
    sign: SignMode


def parse_login_form(fields: Mapping[str, str]) -> LoginChoice:
    """Validate the submitted fields. `scenario` empty means: from the email, else success."""
    for name, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            raise LoginFormError(f"the {name} field is too long")
    email = fields.get("email", "").strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or len(email) > 254 or any(c.isspace() for c in email):
        raise LoginFormError("enter an email address such as alice@example.com")
    sign = _SIGN_MODES.get(fields.get("sign", "").strip() or "both")
    if sign is None:
        raise LoginFormError("sign must be assertion, response or both")
    user = SimulatedUser(
        email=email,
        given_name=fields.get("given_name", "").strip(),
        family_name=fields.get("family_name", "").strip(),
        groups=tuple(g.strip() for g in fields.get("groups", "").split(",") if g.strip()),
        extra_attributes=_attribute_lines(fields.get("attributes", "")),
    )
    return LoginChoice(
        user=user,
        scenario=resolve_scenario(fields.get("scenario", ""), email),
        sign=sign,
    )


def resolve_scenario(selected: str, email: str) -> Scenario:
    """An explicit choice wins; then `expired@…` / `alice+expired@…`; then success."""
    selected = selected.strip()
    if selected:
        try:
            return Scenario(selected)
        except ValueError:
            raise LoginFormError(f"unknown scenario {selected!r}") from None
    return scenario_for_email(email) or Scenario.SUCCESS


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
