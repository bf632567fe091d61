"""The readers every connector kind shares for its stored settings
(broker/upstream/config_fields.py): stored settings are untrusted, and each refusal names
the field a form puts the message beside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from broker.errors import ConfigError
from broker.upstream.config_fields import (
    DEFAULT_CLOCK_SKEW_SECONDS,
    STANDARD_CLAIMS,
    ConfigReader,
    check_claim_names,
    check_url,
)

Read = Callable[[ConfigReader], object]


@pytest.mark.parametrize(
    ("raw", "read", "value"),
    [
        ({"a": " x "}, lambda r: r.string("a"), "x"),
        ({}, lambda r: r.string("a", default="d"), "d"),
        ({}, lambda r: r.optional_string("a"), None),
        ({"a": None}, lambda r: r.optional_string("a"), None),
        ({"a": ""}, lambda r: r.optional_string("a"), None),
        ({"a": " x "}, lambda r: r.optional_string("a"), "x"),
        ({"a": ["x", "y"]}, lambda r: r.string_list("a"), ["x", "y"]),
        ({"a": ("x",)}, lambda r: r.string_list("a"), ["x"]),
        ({}, lambda r: r.string_list("a", default=[]), []),
        ({"a": 3}, lambda r: r.integer("a", default=1), 3),
        ({}, lambda r: r.integer("a", default=1), 1),
        ({"a": False}, lambda r: r.boolean("a", default=True), False),
        ({}, lambda r: r.boolean("a", default=True), True),
        ({"a": "post"}, lambda r: r.choice("a", ("post", "redirect"), "redirect"), "post"),
        ({}, lambda r: r.choice("a", {"post": 1, "redirect": 2}, "redirect"), "redirect"),
        ({}, lambda r: r.clock_skew(), DEFAULT_CLOCK_SKEW_SECONDS),
        ({"clock_skew_seconds": 0}, lambda r: r.clock_skew(), 0),
        ({"clock_skew_seconds": 300}, lambda r: r.clock_skew(), 300),
        ({}, lambda r: r.request_timeout(), None),
        ({"request_timeout_seconds": None}, lambda r: r.request_timeout(), None),
        ({"request_timeout_seconds": 1}, lambda r: r.request_timeout(), 1),
        ({"request_timeout_seconds": 30}, lambda r: r.request_timeout(), 30),
        ({}, lambda r: r.claim_mapping(), {}),
        ({"attribute_mapping": None}, lambda r: r.claim_mapping(), {}),
        ({"attribute_mapping": {"email": "mail", "groups": ["memberOf", "groups"]}},
         lambda r: r.claim_mapping(), {"email": ("mail",), "groups": ("memberOf", "groups")}),
        ({"claims": {"name": ("cn",)}}, lambda r: r.claim_mapping("claims"), {"name": ("cn",)}),
        ({}, lambda r: r.required_claims(), ("email",)),
        ({"required_claims": []}, lambda r: r.required_claims(), ()),
        ({"required_claims": ["email", "name"]}, lambda r: r.required_claims(),
         ("email", "name")),
        ({}, lambda r: r.strategy(("okta", "adfs")), None),
        ({"strategy": "adfs"}, lambda r: r.strategy(("okta", "adfs")), "adfs"),
    ],
)  # fmt: skip
def test_what_is_read(raw: dict[str, Any], read: Read, value: object) -> None:
    assert read(ConfigReader(raw)) == value


@pytest.mark.parametrize(
    ("raw", "read", "field", "message"),
    [
        ({}, lambda r: r.string("a"), "a", "is required"),
        ({"a": "  "}, lambda r: r.string("a"), "a", "is required"),
        ({"a": 1}, lambda r: r.string("a"), "a", "is required"),
        ({"a": 1}, lambda r: r.optional_string("a"), "a", "must be a string"),
        ({"a": ["x"]}, lambda r: r.optional_string("a"), "a", "must be a string"),
        ({}, lambda r: r.string_list("a"), "a", "must be a list of strings"),
        ({"a": "x"}, lambda r: r.string_list("a"), "a", "must be a list of strings"),
        ({"a": ["x", 1]}, lambda r: r.string_list("a"), "a", "must be a list of strings"),
        ({"a": "3"}, lambda r: r.integer("a", default=1), "a", "must be a whole number"),
        ({"a": True}, lambda r: r.integer("a", default=1), "a", "must be a whole number"),
        ({"a": 1.5}, lambda r: r.integer("a", default=1), "a", "must be a whole number"),
        ({"a": "true"}, lambda r: r.boolean("a", default=True), "a", "must be true or false"),
        ({"a": 1}, lambda r: r.boolean("a", default=True), "a", "must be true or false"),
        ({"a": "get"}, lambda r: r.choice("a", ("post",), "post"), "a",
         "must be one of ['post']"),
        ({"clock_skew_seconds": -1}, lambda r: r.clock_skew(), "clock_skew_seconds",
         "must be 0..300"),
        ({"clock_skew_seconds": 301}, lambda r: r.clock_skew(), "clock_skew_seconds",
         "must be 0..300"),
        ({"request_timeout_seconds": 0}, lambda r: r.request_timeout(),
         "request_timeout_seconds", "must be 1..30"),
        ({"request_timeout_seconds": 31}, lambda r: r.request_timeout(),
         "request_timeout_seconds", "must be 1..30"),
        ({"request_timeout_seconds": "5"}, lambda r: r.request_timeout(),
         "request_timeout_seconds", "must be a whole number"),
        ({"attribute_mapping": ["email"]}, lambda r: r.claim_mapping(), "attribute_mapping",
         "must map claim names to attribute names"),
        ({"attribute_mapping": {"phone": "tel"}}, lambda r: r.claim_mapping(),
         "attribute_mapping", "unknown claims ['phone']"),
        ({"attribute_mapping": {"email": []}}, lambda r: r.claim_mapping(),
         "attribute_mapping.email", "must be a non-empty list of attribute names"),
        ({"attribute_mapping": {"email": 3}}, lambda r: r.claim_mapping(),
         "attribute_mapping.email", "must be a non-empty list of attribute names"),
        ({"attribute_mapping": {"email": ["mail", ""]}}, lambda r: r.claim_mapping(),
         "attribute_mapping.email", "attribute names must be non-empty strings"),
        ({"attribute_mapping": {"email": ["mail", None]}}, lambda r: r.claim_mapping(),
         "attribute_mapping.email", "attribute names must be non-empty strings"),
        ({"attribute_mapping": {"email": ""}}, lambda r: r.claim_mapping(),
         "attribute_mapping.email", "attribute names must be non-empty strings"),
        ({"required_claims": "email"}, lambda r: r.required_claims(), "required_claims",
         "must be a list of names"),
        ({"required_claims": [1]}, lambda r: r.required_claims(), "required_claims",
         "must be a list of names"),
        ({"required_claims": ["email", "sub"]}, lambda r: r.required_claims(),
         "required_claims", "unknown claims ['sub']"),
        ({"strategy": "okta2"}, lambda r: r.strategy(("okta", "adfs")), "strategy",
         "must be one of ['okta', 'adfs']"),
        ({"strategy": ""}, lambda r: r.strategy(("okta",)), "strategy", "must be one of"),
    ],
)  # fmt: skip
def test_what_is_refused_names_its_field(
    raw: dict[str, Any], read: Read, field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(ConfigReader(raw))
    assert caught.value.field == field
    assert message in caught.value.message


def test_every_standard_claim_may_be_required() -> None:
    assert check_claim_names(list(STANDARD_CLAIMS), "f") == STANDARD_CLAIMS


@pytest.mark.parametrize(
    "url",
    ["https://idp.test", "https://idp.test:8443/saml?x=1", "http://localhost:8080/oidc"],
)
def test_an_absolute_http_url_is_kept(url: str) -> None:
    assert check_url(url, "f") == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://[x", "is not a URL"),
        ("https://idp.test:99999/", "is not a URL"),
        ("https://idp.test:port/", "is not a URL"),
        ("idp.test/sso", "must be an absolute https URL"),
        ("ftp://idp.test/sso", "must be an absolute https URL"),
        ("https:///sso", "must be an absolute https URL"),
        ("javascript:alert(1)", "must be an absolute https URL"),
        ("https://idp.test/sso#x", "must not carry a fragment or credentials"),
        ("https://user@idp.test/sso", "must not carry a fragment or credentials"),
        ("https://user:pw@idp.test/sso", "must not carry a fragment or credentials"),
    ],
)
def test_anything_else_is_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_url(url, "sso_url")
    assert (caught.value.field, caught.value.message) == ("sso_url", message)
