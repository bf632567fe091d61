from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.gatehouse import Gatehouse, build_gatehouse
from tests.support.portal_idp_world import PortalIdpWorld, build_portal_idp_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Gatehouse:
    return build_gatehouse(store, tmp_path)


@pytest.fixture(scope="session")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def idp_world(store: Store, tmp_path: Path, idp_keys: IdpKeys) -> Iterator[PortalIdpWorld]:
    """The portal with the IdP simulator in process: test logins against its SAML IdP and OP."""
    built = build_portal_idp_world(store, tmp_path, idp_keys)
    with built.browser, built.idp:
        yield built
