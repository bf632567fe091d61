"""Who may touch a connection (docs/security.md M-01, M-02, M-10): every endpoint needs
its exact scope, refused with 403 naming it; another organization's connection answers on
every endpoint exactly what an absent one does, and is left unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.connection_upstreams import (
    Upstreams,
    connections_world,
    create,
    idp_keys,
    next_idp_keys,
    oidc_settings,
    op_key,
    upstreams,
)
from tests.support.management_api import ApiWorld
from tests.support.management_checks import (
    assert_scope_refused,
    organization,
    problem,
)

__all__ = ["connections_world", "idp_keys", "next_idp_keys", "op_key", "upstreams"]

READ, WRITE = "connections:read", "connections:write"
ABSENT = "con_AAAAAAAAAAAAAAAAAAAAAA"


def endpoints(org: str, cid: str) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, path, body, scope) for every connections endpoint."""
    collection = f"/organizations/{org}/connections"
    item = f"{collection}/{cid}"
    body = {"type": "saml", "settings": {"metadata_url": "https://idp.test/metadata"}}
    return [
        ("POST", collection, body, WRITE),
        ("GET", collection, None, READ),
        ("GET", item, None, READ),
        ("PATCH", item, {"name": "Renamed"}, WRITE),
        ("POST", item + "/activate", None, WRITE),
        ("POST", item + "/deactivate", None, WRITE),
        ("DELETE", item, None, WRITE),
    ]


@pytest.mark.parametrize(
    "granted", [(), (READ,), (WRITE,)], ids=["other-scopes", "read-only", "write-only"]
)
def test_every_endpoint_needs_its_scope(
    connections_world: ApiWorld, upstreams: Upstreams, granted: tuple[str, ...]
) -> None:
    world, org = connections_world, organization(connections_world)
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    caller = world.caller(*(granted or ("organizations:read", "organizations:write")))
    for method, path, body, scope in endpoints(org, cid):
        response = caller.request(method, path, json=body)
        if scope in granted:
            assert response.status_code != 403, (method, path, response.text)
        else:
            assert_scope_refused(response, scope)
    remaining = [
        c["id"] for c in world.admin().get(f"/organizations/{org}/connections").json()["items"]
    ]
    assert remaining == ([] if WRITE in granted else [cid])  # the DELETE ran, or nothing did


def test_another_organizations_connection_is_not_found_like_an_absent_one(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world = connections_world
    ours, theirs = organization(world, "Acme"), organization(world, "Globex")
    their_connection = create(world, theirs, "oidc", **oidc_settings(upstreams))
    admin = world.admin()
    requests = [
        (foreign, absent)
        for foreign, absent in zip(
            endpoints(ours, their_connection["id"]), endpoints(ours, ABSENT), strict=True
        )
        if foreign[1] != absent[1]  # the item endpoints; the collection is ours
    ]
    assert len(requests) == 5
    for (method, path, body, _), (_, absent_path, _, _) in requests:
        foreign = admin.request(method, path, json=body)
        absent = admin.request(method, absent_path, json=body)
        assert_not_found_like_absent(foreign, absent, their_connection["id"])
    # Through the other organization's path, it is untouched.
    read = admin.get(f"/organizations/{theirs}/connections/{their_connection['id']}").json()
    assert read == {**their_connection, "warnings": read["warnings"]}
    assert admin.get(f"/organizations/{ours}/connections").json()["items"] == []


def test_an_unknown_organization_is_not_found_on_every_endpoint_before_any_fetch(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    world, org = connections_world, organization(connections_world)
    cid = create(world, org, "oidc", **oidc_settings(upstreams))["id"]
    upstreams.requests.clear()
    admin = world.admin()
    for method, path, body, _ in endpoints("org_AAAAAAAAAAAAAAAAAAAAAA", cid):
        response = admin.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert upstreams.requests == []  # no metadata fetched on behalf of nobody


def test_a_settings_patch_of_another_organization_is_not_found_before_it_is_validated(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """A PATCH's settings are checked against the connection's own type, so the connection
    is read first; scoped, like every read."""
    world = connections_world
    ours, theirs = organization(world, "Acme"), organization(world, "Globex")
    cid = create(world, theirs, "oidc", **oidc_settings(upstreams))["id"]
    body = {"settings": {"scopes": "not a list"}}
    assert_not_found_like_absent(
        world.admin().patch(f"/organizations/{ours}/connections/{cid}", json=body),
        world.admin().patch(f"/organizations/{ours}/connections/{ABSENT}", json=body),
        cid,
    )


def assert_not_found_like_absent(
    foreign: httpx.Response, absent: httpx.Response, foreign_id: str
) -> None:
    """The same answer (M-10), but for the id asked about, which the detail repeats."""
    assert foreign.status_code == absent.status_code == 404, (foreign.text, absent.text)
    assert problem(foreign) == problem(absent) | {
        "detail": str(problem(absent)["detail"]).replace(ABSENT, foreign_id)
    }
