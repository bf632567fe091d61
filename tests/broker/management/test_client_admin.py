"""Rotating a management client's secret and disabling it (`broker.management.client_admin`),
seen at the management token endpoint and the API."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from broker.errors import ConfigError
from broker.management.access import api_audience
from broker.management.client_admin import revoke_previous_secret, rotate_secret, set_disabled
from broker.store import NotFound
from broker.store.protocols import EventQuery
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, Caller, basic


def token_status(world: ApiWorld, caller: Caller, secret: str, auth: str) -> int:
    if auth == "post":
        return dataclasses.replace(caller, client_secret=secret).fetch_token().status_code
    response: httpx.Response = world.http.post(
        "/token",
        data={"grant_type": "client_credentials", "audience": api_audience(ISSUER)},
        headers=basic(caller.client_id, secret),
    )
    if response.status_code != 200:
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    return response.status_code


def kinds(world: ApiWorld, client_id: str) -> list[str]:
    with world.store.unit_of_work() as uow:
        events = uow.audit.page(EventQuery(limit=20, kind_prefix="management_client."))
    return sorted(e.kind for e in events if e.detail.get("client_id") == client_id)


@pytest.mark.parametrize("auth", ["post", "basic"])
def test_both_secrets_get_tokens_until_the_older_is_revoked(world: ApiWorld, auth: str) -> None:
    caller = world.caller("organizations:read")
    with world.store.unit_of_work() as uow:
        new = rotate_secret(uow, caller.client_id, now=world.clock.now(), actor="cli")
    assert new.client_secret != caller.client_secret
    assert token_status(world, caller, caller.client_secret, auth) == 200
    assert token_status(world, caller, new.client_secret, auth) == 200
    with world.store.unit_of_work() as uow:
        revoke_previous_secret(uow, caller.client_id, now=world.clock.now(), actor="cli")
    assert token_status(world, caller, caller.client_secret, auth) == 401
    assert token_status(world, caller, new.client_secret, auth) == 200
    assert kinds(world, caller.client_id) == [
        "management_client.secret_revoked",
        "management_client.secret_rotated",
    ]


def test_revoking_the_only_secret_is_refused(world: ApiWorld) -> None:
    caller = world.caller("organizations:read")
    with world.store.unit_of_work() as uow, pytest.raises(ConfigError, match="only one"):
        revoke_previous_secret(uow, caller.client_id, now=world.clock.now(), actor="cli")
    assert token_status(world, caller, caller.client_secret, "post") == 200


def test_an_unknown_client_is_not_found(world: ApiWorld) -> None:
    with world.store.unit_of_work() as uow, pytest.raises(NotFound):
        rotate_secret(uow, "mc_nobody", now=world.clock.now(), actor="cli")


def test_a_disabled_client_gets_no_token_and_its_tokens_stop_working(world: ApiWorld) -> None:
    caller = world.admin()
    assert caller.get("/organizations").status_code == 200
    with world.store.unit_of_work() as uow:
        set_disabled(uow, caller.client_id, disabled=True, now=world.clock.now(), actor="cli")
    assert token_status(world, caller, caller.client_secret, "post") == 401
    assert token_status(world, caller, caller.client_secret, "basic") == 401
    assert caller.get("/organizations").status_code == 401
    with world.store.unit_of_work() as uow:
        set_disabled(uow, caller.client_id, disabled=False, now=world.clock.now(), actor="cli")
        set_disabled(uow, caller.client_id, disabled=False, now=world.clock.now(), actor="cli")
    assert caller.get("/organizations").status_code == 200
    assert kinds(world, caller.client_id) == [
        "management_client.disabled",
        "management_client.enabled",
    ]
