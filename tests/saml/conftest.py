from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.saml_world import SamlWorld, build_saml_world


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[SamlWorld]:
    saml_world = build_saml_world(store, tmp_path, idp_keys)
    with saml_world.gatehouse.client, saml_world.idp:
        yield saml_world
