"""The Management API adapter with the real auth0-python client against the stand-in:
what it sends, and Auth0's refusals as `Auth0Refused`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from broker.auth0.api import (
    Auth0Refused,
    M2MApplication,
    ManagementApi,
    check_origin,
    reset_time,
)
from broker.auth0.setup import ConnectRequest, connect, plan_sync
from broker.errors import ConfigError
from broker.store.sql import SqlStore
from tests.support.auth0_standin import DOMAIN, Auth0Standin, auth0_standin
from tests.support.databases import Database

OPTIONS = {"type": "back_channel", "client_id": "gh", "client_secret": "s" * 40}


@pytest.fixture
def standin() -> Iterator[Auth0Standin]:
    with auth0_standin() as running:
        yield running


@pytest.fixture
def api(standin: Auth0Standin) -> Iterator[ManagementApi]:
    app = M2MApplication(DOMAIN, standin.m2m_client_id, standin.m2m_client_secret, standin.url)
    management = ManagementApi(app, retries=0)
    yield management
    management.close()


def test_the_token_is_asked_for_the_tenants_management_api(
    api: ManagementApi, standin: Auth0Standin
) -> None:
    assert api.find_connection("gatehouse") is None
    token_request = standin.requests[0]
    assert token_request.path == "/oauth/token"
    assert token_request.body["audience"] == f"https://{DOMAIN}/api/v2/"
    assert token_request.body["grant_type"] == "client_credentials"
    listing = standin.requests[1]
    assert (listing.method, listing.path) == ("GET", "/api/v2/connections")
    assert ("name", "gatehouse") in listing.query
    assert ("strategy", "oidc") in listing.query
    api.find_connection("gatehouse")
    assert [r.path for r in standin.requests].count("/oauth/token") == 1  # fetched once


def test_create_find_update_enable(api: ManagementApi, standin: Auth0Standin) -> None:
    made = api.create_connection(name="gatehouse", options=OPTIONS, metadata={"a": "b"})
    found = api.find_connection("gatehouse")
    assert found == made
    assert found is not None
    assert found.options == OPTIONS
    api.update_connection(made, options={**OPTIONS, "scope": "openid email"}, metadata={})
    assert standin.connections[made.id]["options"]["scope"] == "openid email"
    assert standin.connections[made.id]["metadata"] == {}
    api.enable_for(made.id, ["app_1"])
    api.enable_for(made.id, [])  # nothing to send: no request Auth0 would refuse
    assert standin.enabled[made.id] == {"app_1"}
    assert [r.body for r in standin.requests if r.path.endswith("/clients")] == [
        [{"client_id": "app_1", "status": True}]
    ]


def test_many_applications_are_enabled_in_batches_auth0_takes(
    api: ManagementApi, standin: Auth0Standin
) -> None:
    made = api.create_connection(name="gatehouse", options=OPTIONS, metadata={})
    api.enable_for(made.id, [f"app_{i}" for i in range(120)])
    assert len(standin.enabled[made.id]) == 120
    batches = [r.body for r in standin.requests if r.path.endswith("/clients")]
    assert [len(b) for b in batches] == [50, 50, 20]


def test_the_display_name_survives_an_update(api: ManagementApi, standin: Auth0Standin) -> None:
    standin.add_connection("gatehouse", "oidc", options=OPTIONS, display_name="Acme SSO")
    found = api.find_connection("gatehouse")
    assert found is not None
    api.update_connection(found, options=OPTIONS, metadata={})
    assert standin.named("gatehouse")["display_name"] == "Acme SSO"


def test_an_unknown_option_is_refused_as_auth0_does(api: ManagementApi) -> None:
    with pytest.raises(Auth0Refused) as refused:
        api.create_connection(name="gatehouse", options={**OPTIONS, "colour": "red"}, metadata={})
    assert refused.value.status == 400
    assert "colour" in str(refused.value)


def test_a_rate_limit_carries_when_it_lifts(api: ManagementApi, standin: Auth0Standin) -> None:
    standin.answer(429)
    with pytest.raises(Auth0Refused) as refused:
        api.find_connection("gatehouse")
    assert refused.value.status == 429
    assert refused.value.retry_at is not None
    assert refused.value.retry_at >= int(datetime.now(UTC).timestamp())


def test_a_conflict_carries_auth0s_error_code(api: ManagementApi, standin: Auth0Standin) -> None:
    standin.add_connection("gatehouse", "samlp")
    with pytest.raises(Auth0Refused) as refused:
        api.create_connection(name="gatehouse", options=OPTIONS, metadata={})
    assert (refused.value.status, refused.value.error_code) == (409, "connection_conflict")


def test_an_unreachable_api_is_refused_without_a_traceback() -> None:
    app = M2MApplication(DOMAIN, "id", "secret", "http://127.0.0.1:9")
    api = ManagementApi(app, retries=0, timeout=2)
    try:
        with pytest.raises(Auth0Refused, match="could not be reached"):
            api.find_connection("gatehouse")
    finally:
        api.close()


def test_options_left_out_are_refused_before_anything_is_overwritten(
    api: ManagementApi, standin: Auth0Standin, sqlite_database: Database
) -> None:
    """Without read:connections_options Auth0 returns no options; a PATCH built from
    nothing would erase the connection's settings and its secret."""
    standin.add_connection("gatehouse", "oidc", options=OPTIONS)
    standin.options_scope = False
    with pytest.raises(Auth0Refused, match="read:connections_options"):
        plan_sync(api, SqlStore(sqlite_database.engine), "gatehouse")
    assert standin.writes() == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://auth0.example",
        "ftp://127.0.0.1",
        "https://a.example/api",
        "https://a.example?x=1",
        "https://",
    ],
)
def test_an_origin_the_secret_must_not_go_to_is_refused(origin: str) -> None:
    with pytest.raises(ValueError, match="must"):
        check_origin(origin)


def test_loopback_and_https_origins_are_accepted() -> None:
    check_origin("https://gatehouse-test.eu.auth0.com")
    check_origin("http://127.0.0.1:8080")
    check_origin("http://localhost:8080/")


@pytest.mark.parametrize("domain", ["", "https://a.example", "a.example/x", "-a.example", "a b"])
def test_a_domain_that_is_not_one_is_refused(domain: str) -> None:
    with pytest.raises(ValueError, match="is not an Auth0 domain"):
        M2MApplication(domain, "id", "secret")


def test_a_redirect_uri_register_client_refuses_is_refused_before_auth0_is_asked(
    api: ManagementApi, standin: Auth0Standin, sqlite_database: Database
) -> None:
    request = ConnectRequest(
        connection_name="gatehouse",
        issuer="https://sso.example",
        callback_urls=("https://*.app.test/login/callback",),
        applications=(),
    )
    with pytest.raises(ConfigError, match="wildcards"):
        connect(api, SqlStore(sqlite_database.engine), request, now=datetime.now(UTC))
    assert standin.writes() == []


def test_the_secret_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(M2MApplication(DOMAIN, "id", "hunter2"))


@pytest.mark.parametrize("header", ["99999999999999999999", "²", "-1", "", "1e9", "0"])
def test_a_reset_time_that_is_not_one_is_no_time(header: str) -> None:
    assert reset_time(header) is None


def test_a_reset_time_is_read() -> None:
    assert reset_time("1764892800") == 1764892800
