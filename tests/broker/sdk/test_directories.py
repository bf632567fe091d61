"""The SDK's directories against the real API (in process) and the SCIM service: create
(the token once), push a user over SCIM with it, read it back through the SDK, rotate,
revoke, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broker.sdk import Gatehouse, NotFound
from broker.store import Store
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, build_api_world
from tests.support.scim import user_body


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[ApiWorld]:
    api_world = build_api_world(store, tmp_path)
    with api_world.http:
        yield api_world


def test_a_directory_through_the_sdk(world: ApiWorld) -> None:
    caller = world.caller()
    gatehouse = Gatehouse(ISSUER, caller.client_id, caller.client_secret, http=world.http)
    org = gatehouse.organizations.create("Acme")
    directory = gatehouse.directories.create(org.id, "Okta")
    assert directory.token is not None
    assert directory.token.startswith("gh_scim_")
    assert gatehouse.directories.get(directory.id).token is None
    assert [d.id for d in gatehouse.directories.list(organization_id=org.id)] == [directory.id]

    scim = TestClient(world.app, base_url=f"{directory.scim_base_url}/")
    scim.headers["Authorization"] = f"Bearer {directory.token}"
    for n in range(3):
        assert (
            scim.post(
                "Users", json=user_body(f"u{n}", emails=[{"value": f"u{n}@acme.example"}])
            ).status_code
            == 201
        )
    users = list(gatehouse.directories.users(directory.id))
    assert sorted((u.user_name, u.email) for u in users) == [
        (f"u{n}", f"u{n}@acme.example") for n in range(3)
    ]
    assert list(gatehouse.directories.groups(directory.id)) == []

    rotated = gatehouse.directories.rotate_token(directory.id, overlap_seconds=0)
    assert rotated.token not in (None, directory.token)
    assert scim.get("Users").status_code == 401
    assert gatehouse.directories.revoke_tokens(directory.id) == 1
    gatehouse.directories.delete(directory.id)
    with pytest.raises(NotFound):
        gatehouse.directories.get(directory.id)
