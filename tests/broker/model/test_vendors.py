"""The catalogue of identity products (`broker/model/vendors.py`): one entry per tile,
looked up by strategy."""

from __future__ import annotations

import pytest

from broker.model.vendors import (
    CATALOGUE,
    OIDC_STRATEGIES,
    PRODUCTS,
    SAML_STRATEGIES,
    STRATEGIES,
    product,
    product_name,
)


@pytest.mark.parametrize(
    ("strategy", "name"),
    [
        ("okta", "Okta"),
        ("entra", "Microsoft Entra ID"),
        ("adfs", "ADFS"),
        ("keycloak", "Keycloak"),
        # The generic tiles are no product: a sentence names the protocol instead.
        ("generic-saml", None),
        ("generic-oidc", None),
        ("unknown", None),
        ("", None),
        (None, None),
        ("OKTA", None),  # strategies are exact keys
    ],
)
def test_product_name(strategy: str | None, name: str | None) -> None:
    assert product_name(strategy) == name


def test_product_finds_each_tile_and_nothing_else() -> None:
    for entry in CATALOGUE:
        assert product(entry.strategy) is entry
    assert product(None) is None
    assert product("") is None
    assert product("nope") is None


def test_the_strategy_lists_follow_the_catalogue_order_and_protocols() -> None:
    assert STRATEGIES == tuple(p.strategy for p in CATALOGUE) == tuple(PRODUCTS)
    assert len(set(STRATEGIES)) == len(CATALOGUE)
    assert "adfs" in SAML_STRATEGIES
    assert "adfs" not in OIDC_STRATEGIES
    assert "generic-oidc" not in SAML_STRATEGIES
    assert set(SAML_STRATEGIES) | set(OIDC_STRATEGIES) == set(STRATEGIES)


def test_only_the_generic_tiles_are_generic() -> None:
    assert {p.strategy for p in CATALOGUE if p.generic} == {"generic-saml", "generic-oidc"}
