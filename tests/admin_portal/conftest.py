from __future__ import annotations

from pathlib import Path

import pytest

from broker.store import Store
from tests.support.portal_world import PortalWorld, build_portal_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> PortalWorld:
    return build_portal_world(store, tmp_path)
