"""Rotating a login client's secret and disabling the client (`broker.oidc.clients`), seen
where the relying party feels it: `/token` with both client authentication methods, and
`/authorize`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from broker.errors import ConfigError
from broker.oidc.clients import (
    register_client,
    revoke_previous_client_secret,
    rotate_client_secret,
    set_client_disabled,
)
from broker.store import NotFound
from broker.store.protocols import EventQuery
from tests.broker.oidc.test_authorize import assert_error_redirect
from tests.broker.oidc.test_token_client_auth import assert_invalid_client
from tests.support.harness import Harness


def rotate(gatehouse: Harness) -> str:
    with gatehouse.store.unit_of_work() as uow:
        rotated = rotate_client_secret(
            uow, gatehouse.client_id, now=gatehouse.clock.now(), actor="cli"
        )
    assert rotated.client_secret
    assert rotated.client_secret != gatehouse.client_secret
    return rotated.client_secret


def redeems_with(gatehouse: Harness, secret: str, auth: str) -> int:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier, client_secret=secret, auth=auth)
    if response.status_code != 200:
        assert_invalid_client(response)
    return response.status_code


def kinds(gatehouse: Harness) -> list[str]:
    with gatehouse.store.unit_of_work() as uow:
        events = uow.audit.page(EventQuery(limit=20, kind_prefix="client."))
    return sorted(e.kind for e in events if e.detail.get("client_id") == gatehouse.client_id)


@pytest.mark.parametrize("auth", ["post", "basic"])
def test_both_secrets_work_until_the_older_is_revoked(gatehouse: Harness, auth: str) -> None:
    old = gatehouse.client_secret
    new = rotate(gatehouse)
    assert redeems_with(gatehouse, old, auth) == 200
    assert redeems_with(gatehouse, new, auth) == 200
    with gatehouse.store.unit_of_work() as uow:
        revoke_previous_client_secret(
            uow, gatehouse.client_id, now=gatehouse.clock.now(), actor="cli"
        )
    assert redeems_with(gatehouse, old, auth) == 401
    assert redeems_with(gatehouse, new, auth) == 200
    assert kinds(gatehouse) == ["client.secret_revoked", "client.secret_rotated"]


def test_a_second_rotation_drops_the_oldest_secret(gatehouse: Harness) -> None:
    first = gatehouse.client_secret
    second = rotate(gatehouse)
    third = rotate(gatehouse)
    assert redeems_with(gatehouse, first, "post") == 401
    assert redeems_with(gatehouse, second, "post") == 200
    assert redeems_with(gatehouse, third, "post") == 200


def test_revoking_the_only_secret_is_refused(gatehouse: Harness) -> None:
    with gatehouse.store.unit_of_work() as uow, pytest.raises(ConfigError, match="only one"):
        revoke_previous_client_secret(
            uow, gatehouse.client_id, now=gatehouse.clock.now(), actor="cli"
        )
    assert redeems_with(gatehouse, gatehouse.client_secret, "post") == 200
    assert kinds(gatehouse) == []


def test_a_public_client_has_no_secret_to_rotate(gatehouse: Harness) -> None:
    with gatehouse.store.unit_of_work() as uow:
        public = register_client(
            uow,
            name="SPA",
            redirect_uris=["https://spa.test/cb"],
            now=gatehouse.clock.now(),
            public=True,
        ).client
    with gatehouse.store.unit_of_work() as uow, pytest.raises(ConfigError, match="public"):
        rotate_client_secret(uow, public.client_id, now=gatehouse.clock.now(), actor="cli")


def test_an_unknown_client_is_not_found(gatehouse: Harness) -> None:
    now = gatehouse.clock.now()
    with gatehouse.store.unit_of_work() as uow, pytest.raises(NotFound):
        rotate_client_secret(uow, "no-such-client", now=now, actor="cli")
    with gatehouse.store.unit_of_work() as uow, pytest.raises(NotFound):
        set_client_disabled(uow, "no-such-client", disabled=True, now=now, actor="cli")


def set_disabled(gatehouse: Harness, disabled: bool) -> None:
    with gatehouse.store.unit_of_work() as uow:
        set_client_disabled(
            uow, gatehouse.client_id, disabled=disabled, now=gatehouse.clock.now(), actor="cli"
        )


def test_a_disabled_client_is_refused_at_authorize_with_unauthorized_client(
    gatehouse: Harness,
) -> None:
    """RFC 6749 §4.1.2.1: the client and its redirect_uri are known, so the error is
    redirected to it."""
    set_disabled(gatehouse, True)
    login = gatehouse.new_login()
    assert_error_redirect(gatehouse.authorize(login), "unauthorized_client", login.state)
    set_disabled(gatehouse, False)
    assert redeems_with(gatehouse, gatehouse.client_secret, "post") == 200


@pytest.mark.parametrize("auth", ["post", "basic"])
def test_a_disabled_client_cannot_redeem_a_code_it_already_has(
    gatehouse: Harness, auth: str
) -> None:
    login, code = gatehouse.login_and_get_code()
    set_disabled(gatehouse, True)
    response = gatehouse.redeem(code, verifier=login.verifier, auth=auth)
    assert_invalid_client(response)
    assert response.json()["error_description"] == "the client is disabled"


def test_disabling_is_idempotent_and_each_change_is_recorded(gatehouse: Harness) -> None:
    set_disabled(gatehouse, True)
    with gatehouse.store.unit_of_work() as uow:
        first = uow.clients.get(gatehouse.client_id).disabled_at
    gatehouse.clock.advance(timedelta(minutes=1))
    set_disabled(gatehouse, True)
    with gatehouse.store.unit_of_work() as uow:
        assert uow.clients.get(gatehouse.client_id).disabled_at == first
    set_disabled(gatehouse, False)
    set_disabled(gatehouse, False)
    assert kinds(gatehouse) == ["client.disabled", "client.enabled"]
