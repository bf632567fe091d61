"""The harness most broker tests use: Gatehouse with Acme Corp on the fake connector and three
relying parties (`tests/support/harness.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.store import Store
from tests.support.harness import Harness, build_harness


@pytest.fixture
def gatehouse(store: Store, tmp_path: Path) -> Iterator[Harness]:
    harness = build_harness(store, tmp_path)
    with harness.client:
        yield harness
