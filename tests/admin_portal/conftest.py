from __future__ import annotations

from pathlib import Path

import pytest

from broker.store import Store
from tests.support.gatehouse import Gatehouse, build_gatehouse


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Gatehouse:
    return build_gatehouse(store, tmp_path)
