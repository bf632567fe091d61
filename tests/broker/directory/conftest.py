"""A directory of an organization on the parametrized store (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.directories import Directory, DirectoryState, LinkKey
from broker.store import Store
from tests.broker.store.test_store_tenancy import organization

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def directory(directory_id: str = "dir_a", org_id: str = "org_a") -> Directory:
    return Directory(
        id=directory_id,
        organization_id=org_id,
        name="Okta",
        link_key=LinkKey.EMAIL,
        state=DirectoryState.ACTIVE,
        created_at=NOW,
    )


@pytest.fixture
def directories(store: Store) -> Store:
    """Organizations org_a and org_b, with directories dir_a and dir_b."""
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.organizations.add(organization("org_b"))
        uow.directories.add(directory("dir_a", "org_a"))
        uow.directories.add(directory("dir_b", "org_b"))
    return store
