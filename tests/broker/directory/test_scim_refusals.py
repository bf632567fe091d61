"""Every refusal of the SCIM service is a SCIM error (RFC 7644 §3.12) in
application/scim+json, never a 5xx, and writes nothing: no user, no event. Each security
check here fails its test if removed: the token's directory, its revocation and expiry,
another directory's ids, the body cap, the filter limits, the rate limit on refused
tokens."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.directory.filters import MAX_TERMS
from broker.directory.service import MAX_BODY
from broker.store import Store
from tests.support.config import OUT_OF_REACH
from tests.support.scim import ERROR, ScimWorld, patch_body, scim_world, user_body


@pytest.fixture
def world(store: Store, tmp_path: Path) -> ScimWorld:
    return scim_world(store, tmp_path, rate_limits=OUT_OF_REACH)


def assert_scim_error(response: Any, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body["scimType"] == scim_type


def unchanged(world: ScimWorld, users: int = 0) -> None:
    assert world.user_count() == users
    assert [kind for kind, _ in world.events("directory.user")] == []


@pytest.mark.parametrize(
    "token",
    ["", "not-a-token", "gh_scim_" + "A" * 43, "Basic dXNlcjpwYXNz", "Bearer a b c"],
    ids=["none", "garbage", "well-formed-unknown", "basic", "spaces"],
)
def test_a_missing_or_unknown_token_is_401(world: ScimWorld, token: str) -> None:
    client = world.client(token)
    if token.startswith(("Basic", "Bearer")):
        client.headers["Authorization"] = token
    response = client.post("Users", json=user_body("ann"))
    assert_scim_error(response, 401)
    assert "Bearer" in response.headers["www-authenticate"]
    unchanged(world)


def test_a_token_of_another_directory_is_401(world: ScimWorld) -> None:
    response = world.client(world.other.token).post("Users", json=user_body("ann"))
    assert_scim_error(response, 401)
    unchanged(world)
    with world.store.unit_of_work() as uow:
        [logged] = uow.directories.requests(world.directory_id, limit=10)
    assert (logged.status, logged.detail) == (401, "token of another directory")


def test_a_revoked_token_is_401(world: ScimWorld) -> None:
    world.broker.management.directories.revoke("test", world.directory_id)
    assert_scim_error(world.client().get("Users"), 401)
    # The other directory's token is untouched.
    other = world.client(world.other.token, directory_id=world.other.directory.id)
    assert other.get("Users").status_code == 200


def test_a_rotated_token_works_until_its_overlap_ends(world: ScimWorld) -> None:
    rotated = world.broker.management.directories.rotate_token(
        "test", world.directory_id, overlap=timedelta(hours=1)
    )
    assert world.client().get("Users").status_code == 200
    assert world.client(rotated.token).get("Users").status_code == 200
    world.gatehouse.clock.advance(timedelta(hours=1))
    assert_scim_error(world.client().get("Users"), 401)
    assert world.client(rotated.token).get("Users").status_code == 200


def test_another_directorys_ids_are_404(world: ScimWorld) -> None:
    theirs = world.client(world.other.token, directory_id=world.other.directory.id)
    user_id = theirs.post("Users", json=user_body("ann")).json()["id"]
    group_id = theirs.post(
        "Groups",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"},
    ).json()["id"]
    ours = world.client()
    for path in (f"Users/{user_id}", f"Groups/{group_id}"):
        assert_scim_error(ours.get(path), 404)
        assert_scim_error(ours.delete(path), 404)
        assert_scim_error(
            ours.patch(
                path, json=patch_body({"op": "replace", "path": "displayName", "value": "x"})
            ),
            404,
        )
    assert_scim_error(ours.put(f"Users/{user_id}", json=user_body("mallory")), 404)
    # Nor can their users be made our group's members.
    response = ours.post(
        "Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Mine",
            "members": [{"value": user_id}],
        },
    )
    assert_scim_error(response, 400, "invalidValue")
    assert theirs.get(f"Users/{user_id}").json()["userName"] == "ann"
    with world.store.unit_of_work() as uow:
        assert uow.directory_groups.count(world.directory_id) == 0


def test_invalid_json_is_invalid_syntax(world: ScimWorld) -> None:
    for body in (b"{nope", b"\xff\xfe", b"[" * 100_000, b'{"userName": "ann"'):
        assert_scim_error(world.client().post("Users", content=body), 400, "invalidSyntax")
    unchanged(world)


def test_an_unknown_schema_is_refused(world: ScimWorld) -> None:
    for body in (
        {"schemas": ["urn:example:unknown"], "userName": "ann"},
        {
            **user_body("ann"),
            "urn:example:ext": {"a": 1},
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:ext"],
        },
    ):
        response = world.client().post("Users", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["scimType"] in ("invalidValue", "invalidSyntax")
    unchanged(world)


def test_a_body_over_the_cap_is_413(world: ScimWorld) -> None:
    big = {**user_body("ann"), "displayName": "x" * MAX_BODY}
    assert_scim_error(world.client().post("Users", json=big), 413)
    unchanged(world)


@pytest.mark.parametrize(
    "scim_filter",
    [
        "(" * 6 + 'userName eq "a"' + ")" * 6,
        " or ".join(f'userName eq "u{n}"' for n in range(MAX_TERMS + 1)),
        'userName eq "' + "a" * 2000 + '"',
        'title eq "Boss"',
        'userName ne "a"',
        'not (userName eq "a")',
        'emails[type eq "work"]',
        'meta.created gt "2020-01-01T00:00:00Z"',
        'userName eq "a" and',
        "members pr",
    ],
)
def test_a_filter_gatehouse_cannot_answer_is_invalid_filter(
    world: ScimWorld, scim_filter: str
) -> None:
    response = world.client().get("Users", params={"filter": scim_filter})
    assert_scim_error(response, 400, "invalidFilter")


def test_refused_tokens_are_rate_limited_per_address(store: Store, tmp_path: Path) -> None:
    from broker.settings_rate_limits import RateLimitSettings

    world = scim_world(store, tmp_path, rate_limits=RateLimitSettings(scim_auth_failures=2))
    bad = world.client("wrong")
    assert [bad.get("Users").status_code for _ in range(3)] == [401, 401, 429]
    assert bad.get("Users").headers["retry-after"]
    # Accepted requests are not counted, and a valid token still works.
    assert world.client().get("Users").status_code == 200


def test_the_service_provider_config_needs_no_token(world: ScimWorld) -> None:
    response = world.client("").get("ServiceProviderConfig")
    assert response.status_code == 200
    body = response.json()
    assert body["patch"]["supported"] is True
    assert body["bulk"]["supported"] is False
    assert body["etag"]["supported"] is True
    assert world.client("").get("ResourceTypes").status_code == 401


def test_a_failed_patch_writes_nothing(world: ScimWorld) -> None:
    """A PATCH whose second operation is refused leaves the first unapplied."""
    client = world.client()
    user = client.post("Users", json=user_body("ann", displayName="Ann")).json()
    response = client.patch(
        f"Users/{user['id']}",
        json=patch_body(
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "userName", "value": None},
        ),
    )
    assert response.status_code == 400, response.text
    assert client.get(f"Users/{user['id']}").json()["displayName"] == "Ann"
    assert [kind for kind, _ in world.events("directory.user")] == ["directory.user.created"]
