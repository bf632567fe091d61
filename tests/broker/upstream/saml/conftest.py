from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.saml_golden import GoldenConnection, make_connection
from tests.support.saml_world import SamlWorld, build_saml_world

# The shared accepted/refused helpers assert; keep pytest's detailed failure messages for them,
# as they had when they lived in the test module. None of the imports above loads them.
pytest.register_assert_rewrite("tests.support.saml_golden_cases")


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture(scope="session")
def attacker_keys() -> IdpKeys:
    """A key no connection trusts; its certificate travels in KeyInfo (S-18)."""
    return generate("Attacker")


@pytest.fixture(scope="session")
def rollover_keys() -> IdpKeys:
    """The golden IdP's next signing key (S-43)."""
    return generate("Golden IdP next key")


@pytest.fixture(scope="session")
def golden_a(idp_keys: IdpKeys) -> GoldenConnection:
    """Connection A trusting the golden IdP; SP keys made once per session."""
    return make_connection(idp_keys, "con_golden_a")


@pytest.fixture(scope="session")
def golden_b(idp_keys: IdpKeys) -> GoldenConnection:
    """Connection B, another tenant behind the same IdP key (S-19)."""
    return make_connection(idp_keys, "con_golden_b")


@pytest.fixture
def world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[SamlWorld]:
    saml_world = build_saml_world(store, tmp_path, idp_keys)
    with saml_world.gatehouse.client, saml_world.idp:
        yield saml_world
