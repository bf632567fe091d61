from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from tests.support.management_api import ApiWorld, build_api_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[ApiWorld]:
    api_world = build_api_world(store, tmp_path)
    with api_world.http:
        yield api_world
