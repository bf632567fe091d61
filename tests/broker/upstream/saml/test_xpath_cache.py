"""python3-saml's XPath expressions are compiled once per thread (`validate._xpath`), in a
cache that stays small: past its cap it starts over rather than grow."""

from __future__ import annotations

import pytest
from lxml import etree

from broker.upstream.saml import validate


def test_an_expression_is_compiled_once_and_the_cache_starts_over_past_its_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = validate._xpath("/samlp:Response")
    assert validate._xpath("/samlp:Response") is first
    monkeypatch.setattr(validate, "_MAX_COMPILED", 1)
    second = validate._xpath("/samlp:Response/saml:Issuer")
    assert isinstance(second, etree.XPath)
    assert list(validate._COMPILED.by_query) == ["/samlp:Response/saml:Issuer"]
