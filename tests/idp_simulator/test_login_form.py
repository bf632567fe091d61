"""The login form's rules: scenario choice, groups, attribute lines, validation."""

from __future__ import annotations

import pytest

from idp_simulator.login_form import (
    DEFAULT_FORM,
    LoginFormError,
    parse_login_form,
    resolve_scenario,
)
from idp_simulator.saml.scenarios import Scenario


def test_the_default_form_logs_alice_in_successfully():
    choice = parse_login_form(DEFAULT_FORM)
    assert choice.user.email == "alice@example.com"
    assert (choice.user.given_name, choice.user.family_name) == ("Alice", "Example")
    assert choice.user.groups == ("engineering", "admins")
    assert choice.user.extra_attributes == {}
    assert choice.scenario is Scenario.SUCCESS
    assert choice.sign == "both"


def test_attribute_lines_and_multi_values():
    choice = parse_login_form(
        {**DEFAULT_FORM, "attributes": "department = R&D\n\nrole=a\nrole=b=c\n", "groups": " , x,"}
    )
    assert choice.user.extra_attributes == {"department": ("R&D",), "role": ("a", "b=c")}
    assert choice.user.groups == ("x",)


def test_extra_attributes_replace_standard_ones_and_empty_ones_are_dropped():
    choice = parse_login_form({**DEFAULT_FORM, "attributes": "firstName=Al", "family_name": ""})
    attributes = choice.user.attributes()
    assert attributes["firstName"] == ("Al",)
    assert "lastName" not in attributes


@pytest.mark.parametrize(
    ("selected", "email", "expected"),
    [
        ("", "alice@example.com", Scenario.SUCCESS),
        ("", "alice+expired@example.com", Scenario.EXPIRED),
        ("wrong-key", "alice+expired@example.com", Scenario.WRONG_KEY),
        ("success", "expired@example.com", Scenario.SUCCESS),
    ],
)
def test_an_explicit_scenario_wins_over_the_email(selected, email, expected):
    assert resolve_scenario(selected, email) is expected


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"email": "alice"}, "email address"),
        ({"email": "@example.com"}, "email address"),
        ({"email": "al ice@example.com"}, "email address"),
        ({"sign": "neither"}, "sign must be"),
        ({"scenario": "boom"}, "unknown scenario"),
        ({"attributes": "no equals sign"}, "line 1"),
        ({"given_name": "x" * 5000}, "too long"),
    ],
)
def test_bad_fields_are_refused(changes, message):
    with pytest.raises(LoginFormError, match=message):
        parse_login_form({**DEFAULT_FORM, **changes})
