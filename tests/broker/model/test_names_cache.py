"""`normalize_domain` is cached for short names only (`broker.model.names`): the cache can
hold at most 4,096 names of a domain's length, whatever an unauthenticated form sends."""

from __future__ import annotations

import pytest

from broker.model import names


def test_a_name_padded_past_a_domains_length_is_not_kept() -> None:
    names._normalized_cached.cache_clear()
    padded = "exa" + "\ufe00" * 400 + "mple.com"  # variation selectors: UTS-46 maps them away
    assert names.normalize_domain(padded) == "example.com"
    assert names._normalized_cached.cache_info().currsize == 0
    assert names.normalize_domain("Example.COM") == "example.com"
    assert names._normalized_cached.cache_info().currsize == 1


def test_a_refused_name_is_refused_again_not_remembered() -> None:
    names._normalized_cached.cache_clear()
    for _ in range(2):
        with pytest.raises(names.InvalidDomain):
            names.normalize_domain("exa\u200bmple.com")
    assert names._normalized_cached.cache_info().currsize == 0
