"""`connect` and `sync` on each database backend (the store fixture runs SQLite and
PostgreSQL): the client registered once and found again, the verified domains read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from broker.auth0.api import M2MApplication, ManagementApi
from broker.auth0.setup import ConnectRequest, apply_sync, connect, plan_sync
from broker.store.sql import SqlStore
from tests.support.auth0_standin import DOMAIN, Auth0Standin, auth0_standin
from tests.support.factories import add_organization

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REQUEST = ConnectRequest(
    connection_name="gatehouse",
    issuer="https://sso.example",
    callback_urls=(f"https://{DOMAIN}/login/callback",),
    applications=("app_web",),
)


@pytest.fixture
def api() -> Iterator[tuple[ManagementApi, Auth0Standin]]:
    with auth0_standin() as standin:
        app = M2MApplication(DOMAIN, standin.m2m_client_id, standin.m2m_client_secret, standin.url)
        management = ManagementApi(app, retries=0)
        yield management, standin
        management.close()


def test_connect_twice_then_sync_after_a_release(
    store: SqlStore, api: tuple[ManagementApi, Auth0Standin]
) -> None:
    management, standin = api
    with store.unit_of_work() as uow:
        add_organization(uow, org_id="org_acme", name="Acme", domain="acme.example",
                         now=NOW, connection_id="conn_acme")  # fmt: skip
        add_organization(uow, org_id="org_globex", name="Globex", domain="globex.example",
                         now=NOW, connection_id="conn_globex")  # fmt: skip

    first = connect(management, store, REQUEST, now=NOW)
    again = connect(management, store, REQUEST, now=NOW)

    assert first.client_registered
    assert not again.client_registered
    assert again.gatehouse_client_id == first.gatehouse_client_id
    with store.unit_of_work() as uow:
        assert [c.client_id for c in uow.clients.list()] == [first.gatehouse_client_id]
        uow.domains.delete("org_globex", "globex.example")
    planned = plan_sync(management, store, "gatehouse")
    assert planned.plan.to_remove == ("globex.example",)
    apply_sync(management, planned)
    assert standin.named("gatehouse")["options"]["domain_aliases"] == ["acme.example"]
