"""A CLI `--json` object is the management API's JSON for the same resource, field for
field: the same broker answers both, over one SQLite file, the API through HTTP with a
management client's token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from broker.app import create_app
from broker.clock import SystemClock
from broker.management.access import api_audience, register_management_client
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from tests.broker.cli.test_lifecycle import saml_connection
from tests.broker.cli.test_orgs_domains import create_org, env, run

__all__ = ["env"]  # the fixture, re-used


@pytest.fixture
def api(env: dict[str, str]) -> Iterator[TestClient]:
    """The management API of the deployment `env` configures, with a token for every scope
    in its Authorization header."""
    run(env, "migrate")
    settings = Settings.from_env(env)
    store = SqlStore(make_engine(settings.database.url))
    with store.unit_of_work() as uow:
        registered = register_management_client(
            uow,
            name="backend",
            scopes=["organizations:read", "domains:read", "connections:read",
                    "portal_links:write", "events:read"],
            now=SystemClock().now(),
        )  # fmt: skip
    with TestClient(create_app(settings, store=store), base_url=settings.issuer) as http:
        token = http.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": registered.client.client_id,
                "client_secret": registered.client_secret,
                "audience": api_audience(settings.issuer),
            },
        )
        assert token.status_code == 200, token.text
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http
    store.engine.dispose()


def api_get(api: TestClient, path: str) -> Any:
    response = api.get(f"/api/v1{path}")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_connection_is_the_same_object_at_the_cli_and_the_api(
    env: dict[str, str], api: TestClient, tmp_path: Path
) -> None:
    org = create_org(env, "Acme")
    cid = saml_connection(env, org, tmp_path)
    at_cli = json.loads(run(env, "connections", "show", cid, "--json"))
    assert at_cli == api_get(api, f"/organizations/{org}/connections/{cid}")
    deactivated = json.loads(run(env, "connections", "deactivate", cid, "--json"))
    assert deactivated == api_get(api, f"/organizations/{org}/connections/{cid}")


def test_portal_links_events_organizations_and_domains_match_the_api(
    env: dict[str, str], api: TestClient
) -> None:
    org = create_org(env, "Acme", "cus_1")
    run(env, "domains", "add", "--org", org, "acme.test")
    created = json.loads(run(env, "portal-links", "create", org, "--json"))
    listed = json.loads(run(env, "portal-links", "list", org, "--json"))["items"]
    assert listed == api_get(api, f"/organizations/{org}/portal-links")["items"]
    assert {k: v for k, v in created.items() if k != "url"} == listed[0]
    events = json.loads(run(env, "events", "list", "--json"))["items"]
    assert events == api_get(api, "/events")["items"]
    organization = api_get(api, f"/organizations/{org}")
    domain = api_get(api, f"/organizations/{org}/domains/acme.test")
    assert json.loads(run(env, "domains", "delete", "--org", org, "acme.test", "--json")) == domain
    assert json.loads(run(env, "orgs", "delete", org, "--yes", "--json")) == organization
