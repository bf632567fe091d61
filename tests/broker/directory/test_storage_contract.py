"""scim2-server's storage contract (`ScimStorageContract`) on our storage, on SQLite and
PostgreSQL: our tables behave as the SCIM server expects a storage to. The filter cases
Gatehouse refuses (`invalidFilter`: `ne`, `gt`, `title`...) are skipped by the contract
itself; the ones it answers must match scim2-models' own evaluator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scim2_models import ScimProvider
from scim2_server.testing import ScimStorageContract

from broker.clock import SystemClock
from broker.directory import provider as scim_provider
from broker.directory.events import EventContext
from broker.directory.storage import DirectoryStorage
from broker.store import Store


class TestDirectoryStorage(ScimStorageContract):
    @pytest.fixture
    def provider(self) -> ScimProvider:
        return scim_provider.provider()

    @pytest.fixture
    def storage(self, directories: Store) -> Iterator[DirectoryStorage]:
        with directories.unit_of_work() as uow:
            directory = uow.directories.get("dir_a")
            yield DirectoryStorage(
                uow,
                EventContext(directory=directory, request_id=None),
                clock=SystemClock(),
                models=scim_provider.models(),
            )
