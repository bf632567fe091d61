from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.oidc_world import OidcWorld, build_oidc_world


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[OidcWorld]:
    oidc_world = build_oidc_world(store, tmp_path, idp_keys)
    with oidc_world.gatehouse.client, oidc_world.idp:
        yield oidc_world
