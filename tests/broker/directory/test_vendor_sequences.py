"""Request sequences as the vendors' own test tools send them, written from their public
documentation, replayed against the service:

- Okta's "SCIM 2.0 Spec Test" (the Runscope/BlazeMeter suite Okta asks integrators to pass,
  developer.okta.com "Test your SCIM API"): list with count=1&startIndex=1, a filter for a
  user who does not exist, a random id (404), create, read back, the same create again
  (409), the userName filter in another case, then Okta's deactivation PATCH and group push.
- Microsoft's SCIM validator / "Develop a SCIM endpoint" request examples (Microsoft
  Learn): Entra's user create with the enterprise extension, get-by-filter with zero and
  one results, the multi-valued and single-valued PATCHes, disable, the group with
  Microsoft's extra schema URN, members added and removed with Entra's bodies, rename,
  the `excludedAttributes=members` read, deletes.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from broker.store import Store
from tests.support.config import OUT_OF_REACH
from tests.support.scim import (
    ENTERPRISE,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    ScimWorld,
    scim_world,
)

MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
OKTA_HEADERS = {
    "Accept-Charset": "utf-8",
    "Content-Type": "application/scim+json; charset=utf-8",
    "Accept": "application/scim+json",
    "User-Agent": "OKTA SCIM Integration",
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> ScimWorld:
    return scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)


def test_okta_spec_test_sequence(world: ScimWorld) -> None:
    client = world.client()
    client.headers.update(OKTA_HEADERS)
    # Okta's suite expects one user to exist before it starts.
    seed = client.post(
        "Users",
        json={
            "schemas": [USER_SCHEMA], "userName": "seed@example.com", "active": True,
            "name": {"givenName": "Seed", "familyName": "User"},
            "emails": [{"primary": True, "value": "seed@example.com", "type": "work"}],
        },
    )  # fmt: skip
    assert seed.status_code == 201

    listed = client.get("Users", params={"count": 1, "startIndex": 1})
    body = listed.json()
    assert listed.status_code == 200
    assert "urn:ietf:params:scim:api:messages:2.0:ListResponse" in body["schemas"]
    assert isinstance(body["itemsPerPage"], int) and isinstance(body["startIndex"], int)
    assert body["totalResults"] >= 1
    first = body["Resources"][0]
    assert (
        first["id"]
        and first["userName"]
        and first["name"]["givenName"]
        and first["emails"][0]["value"]
    )

    missing = client.get("Users", params={"filter": 'userName eq "nobody-3a9f@example.com"'})
    assert missing.json()["totalResults"] == 0

    random_id = client.get(f"Users/{uuid.uuid4()}")
    assert random_id.status_code == 404
    assert random_id.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]

    okta_user = {
        "schemas": [USER_SCHEMA],
        "userName": "Ann.Lee@example.com",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"primary": True, "value": "Ann.Lee@example.com", "type": "work"}],
        "displayName": "Ann Lee",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "1mtSuper$ecret",
        "active": True,
    }
    created = client.post("Users", json=okta_user)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["active"] is True
    assert client.get(f"Users/{user_id}").json()["userName"] == "Ann.Lee@example.com"

    again = client.post("Users", json=okta_user)
    assert again.status_code == 409

    case = client.get("Users", params={"filter": 'userName eq "ANN.LEE@EXAMPLE.COM"'})
    assert case.json()["totalResults"] == 1

    # Okta's profile update is a PUT of the whole user; deprovisioning a PATCH.
    updated = client.put(
        f"Users/{user_id}", json={**okta_user, "name": {"givenName": "Annie", "familyName": "Lee"}}
    )
    assert updated.status_code == 200
    deactivated = client.patch(
        f"Users/{user_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert deactivated.status_code == 200 and deactivated.json()["active"] is False

    # Group push: create empty, add, rename (value object carrying the id), remove.
    group = client.post(
        "Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Engineering", "members": []}
    )
    assert group.status_code == 201
    group_id = group.json()["id"]
    add = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": user_id, "display": "Ann.Lee@example.com"}],
            }
        ],
    }
    assert (
        client.patch(f"Groups/{group_id}", json=add).json()["members"][0]["display"]
        == "Ann.Lee@example.com"
    )
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "value": {"id": group_id, "displayName": "Eng"}}],
    }
    assert client.patch(f"Groups/{group_id}", json=rename).json()["displayName"] == "Eng"
    remove = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}],
    }
    assert "members" not in client.patch(f"Groups/{group_id}", json=remove).json()
    assert client.delete(f"Groups/{group_id}").status_code == 204
    assert sorted({k for k, _ in world.events()}) == [
        "directory.created",
        "directory.group.created",
        "directory.group.deleted",
        "directory.group.updated",
        "directory.group.user_added",
        "directory.group.user_removed",
        "directory.user.created",
        "directory.user.deactivated",
        "directory.user.updated",
    ]


def test_microsoft_validator_sequence(world: ScimWorld) -> None:
    client = world.client()
    entra_user = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": True,
        "emails": [
            {
                "primary": True,
                "type": "work",
                "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }
    created = client.post("Users", json=entra_user)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    by_name = client.get("Users", params={"filter": f'userName eq "{entra_user["userName"]}"'})
    assert by_name.json()["totalResults"] == 1
    none = client.get("Users", params={"filter": 'userName eq "non-existent user"'})
    assert none.json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": [],
    } or none.json()["totalResults"] == 0  # fmt: skip
    by_external = client.get(
        "Users", params={"filter": f'externalId eq "{entra_user["externalId"]}"'}
    )
    assert by_external.json()["totalResults"] == 1

    multi = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ],
    }
    patched = client.patch(f"Users/{user_id}", json=multi)
    assert patched.status_code == 200, patched.text
    assert patched.json()["emails"][0]["value"] == "updatedEmail@microsoft.com"
    single = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "Replace",
                "path": "userName",
                "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com",
            }
        ],
    }
    assert client.patch(f"Users/{user_id}", json=single).json()["userName"].startswith("5b50642d")
    disable = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Replace", "path": "active", "value": False}],
    }
    assert client.patch(f"Users/{user_id}", json=disable).json()["active"] is False
    # The validator then reads the disabled user by filter and expects `active`.
    disabled = client.get(
        "Users",
        params={"filter": 'userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"'},
    )
    assert disabled.json()["Resources"][0]["active"] is False

    group = client.post(
        "Groups",
        json={
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
            "schemas": [GROUP_SCHEMA, MS_GROUP],
            "displayName": "displayName",
            "meta": {"resourceType": "Group"},
        },
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    found = client.get(
        "Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "displayName"'}
    )
    assert found.json()["totalResults"] == 1
    add = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": user_id}]}
        ],
    }
    assert client.patch(f"Groups/{group_id}", json=add).status_code == 200
    member_filter = client.get(
        "Groups", params={"filter": f'id eq "{group_id}" and members[value eq "{user_id}"]'}
    )
    assert member_filter.json()["totalResults"] == 1
    remove = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user_id}]}
        ],
    }
    assert client.patch(f"Groups/{group_id}", json=remove).status_code == 200
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": "1879db59updatedDisplayName"}
        ],
    }
    assert (
        client.patch(f"Groups/{group_id}", json=rename).json()["displayName"]
        == "1879db59updatedDisplayName"
    )
    assert client.delete(f"Groups/{group_id}").status_code == 204
    assert client.delete(f"Users/{user_id}").status_code == 204
    assert client.get(f"Users/{user_id}").status_code == 404
