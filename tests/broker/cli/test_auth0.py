"""`gatehouse auth0 connect|sync|action` with the real auth0-python client against the
Management API stand-in on loopback (tests/support/auth0_standin.py), and a real SQLite
database for the verified domains and the Gatehouse client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broker.auth0.options import ORGANIZATION_CLAIMS
from broker.cli import cli
from broker.model.opaque import secret_matches
from broker.model.records import Domain
from broker.store.sql import SqlStore
from tests.support.auth0_standin import DOMAIN, Auth0Standin, acme_store, auth0_standin
from tests.support.databases import Database
from tests.support.factories import add_organization

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ISSUER = "https://sso.gatehouse.test"


@pytest.fixture
def standin() -> Iterator[Auth0Standin]:
    with auth0_standin() as running:
        yield running


@pytest.fixture
def store(sqlite_database: Database) -> SqlStore:
    """Acme with acme.example verified (one organization, one connection)."""
    return acme_store(sqlite_database, now=NOW)


@pytest.fixture
def env(sqlite_database: Database, store: SqlStore, standin: Auth0Standin, tmp_path: Path):
    return {
        "GATEHOUSE_VAR_DIR": str(tmp_path),
        "GATEHOUSE_DATABASE_URL": sqlite_database.url,
        "GATEHOUSE_ISSUER": ISSUER,
        "AUTH0_DOMAIN": DOMAIN,
        "AUTH0_CLIENT_ID": standin.m2m_client_id,
        "AUTH0_CLIENT_SECRET": standin.m2m_client_secret,
    }


def gatehouse(env: dict[str, str], standin: Auth0Standin, *args: str) -> Result:
    return CliRunner().invoke(cli, ["auth0", *args, "--api-origin", standin.url], env=env)


def ok(env: dict[str, str], standin: Auth0Standin, *args: str) -> dict[str, object]:
    result = gatehouse(env, standin, *args, "--json")
    assert result.exit_code == 0, result.output
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def refused(env: dict[str, str], standin: Auth0Standin, *args: str) -> str:
    result = gatehouse(env, standin, *args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert "Traceback" not in result.output
    return result.output


def verify(store: SqlStore, name: str) -> None:
    with store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id="org_acme", name=name, verified_at=NOW))


def release(store: SqlStore, name: str) -> None:
    with store.unit_of_work() as uow:
        uow.domains.delete("org_acme", name)


def test_connect_creates_the_connection_auth0_needs(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    answer = ok(env, standin, "connect", "--app", "app_web", "--app", "app_mobile")
    assert answer["created"] is True
    assert answer["client_registered"] is True
    connection = standin.named("gatehouse")
    assert connection["strategy"] == "oidc"
    options = connection["options"]
    assert options["type"] == "back_channel"
    assert options["discovery_url"] == f"{ISSUER}/.well-known/openid-configuration"
    assert options["issuer"] == ISSUER
    assert options["token_endpoint_auth_method"] == "client_secret_post"
    assert options["scope"] == "openid profile email"
    assert options["upstream_params"] == {"login_hint": {"alias": "login_hint"}}
    assert options["domain_aliases"] == ["acme.example"]
    mapping = options["attribute_map"]
    assert mapping["mapping_mode"] == "use_map"
    for claim in ORGANIZATION_CLAIMS:
        assert mapping["attributes"][claim] == f"${{context.tokenset.{claim}}}"
    assert connection["metadata"] == {"gatehouse_aliases": "acme.example"}
    assert standin.enabled[connection["id"]] == {"app_web", "app_mobile"}
    # The client Auth0 uses is registered in Gatehouse, with the secret Auth0 was given
    # (stored hashed) and Auth0's callback as its redirect URI.
    with store.unit_of_work() as uow:
        client = uow.clients.get(options["client_id"])
    assert client.redirect_uris == (f"https://{DOMAIN}/login/callback",)
    assert client.secret_hash is not None
    assert secret_matches(options["client_secret"], client.secret_hash)
    assert answer["gatehouse_client_id"] == options["client_id"]


def test_connect_never_prints_a_secret(env: dict[str, str], standin: Auth0Standin) -> None:
    text = gatehouse(env, standin, "connect")
    as_json = gatehouse(env, standin, "connect", "--json")
    secret = standin.named("gatehouse")["options"]["client_secret"]
    for output in (text.output, as_json.output):
        assert standin.m2m_client_secret not in output
        assert secret not in output


def test_connect_prints_the_action(env: dict[str, str], standin: Auth0Standin) -> None:
    answer = ok(env, standin, "connect")
    action = str(answer["action"])
    assert "exports.onExecutePostLogin" in action
    assert f'const namespace = "{ISSUER}/";' in action
    for claim in ORGANIZATION_CLAIMS:
        assert f'"{claim}"' in action


def test_connect_again_updates_and_reuses_the_client(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    ok(env, standin, "connect", "--app", "app_web")
    connection = standin.named("gatehouse")
    first = dict(connection["options"])
    # The app team changes things Gatehouse does not own, in the dashboard.
    connection["options"] = {**first, "icon_url": "https://app.test/icon.png",
                             "upstream_params": {**first["upstream_params"],
                                                 "prompt": {"value": "login"}}}  # fmt: skip
    connection["metadata"] = {**connection["metadata"], "team": "identity"}

    answer = ok(env, standin, "connect", "--app", "app_admin")

    assert (answer["created"], answer["client_registered"]) == (False, False)
    assert len(standin.connections) == 1
    options = standin.named("gatehouse")["options"]
    assert options["client_id"] == first["client_id"]
    assert options["client_secret"] == first["client_secret"]  # nothing rotated
    assert options["icon_url"] == "https://app.test/icon.png"
    assert options["upstream_params"]["prompt"] == {"value": "login"}
    assert options["upstream_params"]["login_hint"] == {"alias": "login_hint"}
    assert standin.named("gatehouse")["metadata"]["team"] == "identity"
    assert standin.enabled[connection["id"]] == {"app_web", "app_admin"}
    with store.unit_of_work() as uow:
        assert [c.client_id for c in uow.clients.list()] == [first["client_id"]]
    patch = [
        r for r in standin.writes() if r.method == "PATCH" and r.path.endswith(connection["id"])
    ]
    assert len(patch) == 1


def test_connect_after_the_client_was_lost_registers_a_new_one(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    standin.add_connection("gatehouse", "oidc", options={
        "type": "back_channel", "client_id": "gone", "client_secret": "x" * 40,
        "discovery_url": f"{ISSUER}/.well-known/openid-configuration",
    })  # fmt: skip
    result = gatehouse(env, standin, "connect")
    assert result.exit_code == 0, result.output
    assert "which this Gatehouse does not have" in result.output
    options = standin.named("gatehouse")["options"]
    assert options["client_id"] != "gone"
    with store.unit_of_work() as uow:
        client = uow.clients.get(options["client_id"])
    assert client.secret_hash is not None
    assert secret_matches(options["client_secret"], client.secret_hash)


def test_sync_adds_a_newly_verified_domain(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    ok(env, standin, "connect")
    verify(store, "acme-labs.example")

    answer = ok(env, standin, "sync")

    assert answer["added"] == ["acme-labs.example"]
    assert answer["changed"] is True
    connection = standin.named("gatehouse")
    assert connection["options"]["domain_aliases"] == ["acme.example", "acme-labs.example"]
    assert connection["metadata"]["gatehouse_aliases"] == "acme-labs.example,acme.example"
    # Everything else is sent back as it was: the secret survives the whole-object PATCH.
    assert connection["options"]["client_secret"]


def test_sync_removes_a_released_domain_but_never_one_it_did_not_add(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    verify(store, "partner.example")
    standin.add_connection("gatehouse", "oidc", options={
        "type": "back_channel", "client_id": "app-team-client", "client_secret": "s" * 40,
        "domain_aliases": ["partner.example", "legacy.example"],
    })  # fmt: skip
    ok(env, standin, "connect")
    connection = standin.named("gatehouse")
    assert connection["options"]["domain_aliases"] == [
        "partner.example", "legacy.example", "acme.example",
    ]  # fmt: skip
    # partner.example was listed before Gatehouse came: it is not recorded as Gatehouse's.
    assert connection["metadata"]["gatehouse_aliases"] == "acme.example"

    release(store, "acme.example")
    release(store, "partner.example")
    answer = ok(env, standin, "sync")

    assert answer["removed"] == ["acme.example"]
    assert answer["not_added_by_gatehouse"] == ["partner.example", "legacy.example"]
    assert standin.named("gatehouse")["options"]["domain_aliases"] == [
        "partner.example", "legacy.example",
    ]  # fmt: skip
    assert "gatehouse_aliases" not in standin.named("gatehouse")["metadata"]


def test_sync_dry_run_prints_the_diff_and_sends_nothing(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    ok(env, standin, "connect")
    verify(store, "acme-labs.example")
    release(store, "acme.example")
    writes = len(standin.writes())

    result = gatehouse(env, standin, "sync", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "+ acme-labs.example" in result.output
    assert "- acme.example" in result.output
    assert "dry run" in result.output
    assert len(standin.writes()) == writes
    assert standin.named("gatehouse")["options"]["domain_aliases"] == ["acme.example"]


def test_sync_with_nothing_to_change_sends_nothing(
    env: dict[str, str], standin: Auth0Standin
) -> None:
    ok(env, standin, "connect")
    writes = len(standin.writes())
    answer = ok(env, standin, "sync")
    assert (answer["changed"], answer["added"], answer["removed"]) == (False, [], [])
    assert len(standin.writes()) == writes


def test_sync_before_connect_says_to_connect(env: dict[str, str], standin: Auth0Standin) -> None:
    assert "run gatehouse auth0 connect first" in refused(env, standin, "sync")


def test_a_rate_limit_is_retried_as_auth0_says(env: dict[str, str], standin: Auth0Standin) -> None:
    standin.answer(429, method="POST", path="/api/v2/connections")
    ok(env, standin, "connect")
    posts = [r for r in standin.requests if (r.method, r.path) == ("POST", "/api/v2/connections")]
    assert len(posts) == 2
    assert len(standin.connections) == 1


def test_a_lasting_rate_limit_is_refused_with_when_to_retry(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    standin.answer(429, method="POST", path="/api/v2/connections", times=5)
    output = refused(env, standin, "connect", "--retries", "0")
    assert "Auth0 refused: 429 Too Many Requests: Global limit has been reached" in output
    assert "run it again after" in output
    # The client registered for the connection went with the refusal: no orphan.
    with store.unit_of_work() as uow:
        assert uow.clients.list() == []


def test_a_name_clash_is_refused(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    standin.add_connection("gatehouse", "samlp")  # same name, another strategy
    output = refused(env, standin, "connect", "--retries", "0")
    assert "409 Conflict: A connection with the same name already exists" in output
    assert "choose another --connection-name" in output
    with store.unit_of_work() as uow:
        assert uow.clients.list() == []
    assert standin.named("gatehouse")["strategy"] == "samlp"


def test_a_wrong_m2m_secret_is_refused(env: dict[str, str], standin: Auth0Standin) -> None:
    output = refused({**env, "AUTH0_CLIENT_SECRET": "not-the-secret"}, standin, "connect")
    assert "Auth0 refused: 401 at /oauth/token: Unauthorized" in output
    assert "AUTH0_CLIENT_SECRET" in output
    assert "not-the-secret" not in output
    assert standin.connections == {}


def test_a_token_auth0_no_longer_accepts_is_refused(
    env: dict[str, str], standin: Auth0Standin
) -> None:
    ok(env, standin, "connect")
    standin.answer(401, method="GET", path="/api/v2/connections")
    output = refused(env, standin, "sync")
    assert "Auth0 refused: 401 Unauthorized" in output


def test_missing_scopes_are_named(env: dict[str, str], standin: Auth0Standin) -> None:
    standin.answer(403, method="GET", path="/api/v2/connections")
    output = refused(env, standin, "connect")
    assert "Auth0 refused: 403 Forbidden" in output
    assert "read:connections_options" in output


def test_the_m2m_secret_can_come_from_a_file(
    env: dict[str, str], standin: Auth0Standin, tmp_path: Path
) -> None:
    secret_file = tmp_path / "m2m-secret"
    secret_file.write_text(standin.m2m_client_secret + "\n")
    without = {k: v for k, v in env.items() if k != "AUTH0_CLIENT_SECRET"}
    result = gatehouse(without, standin, "connect")
    assert result.exit_code == 2, result.output
    assert "set AUTH0_CLIENT_SECRET or pass --m2m-client-secret-file" in result.output
    ok(without, standin, "connect", "--m2m-client-secret-file", str(secret_file))


def test_the_api_origin_must_not_send_the_secret_in_clear_text(
    env: dict[str, str], standin: Auth0Standin
) -> None:
    result = CliRunner().invoke(
        cli, ["auth0", "connect", "--api-origin", "http://auth0.example"], env=env
    )
    assert result.exit_code == 2, result.output
    assert "must use https" in result.output
    assert standin.requests == []


def test_a_connection_name_auth0_would_refuse_is_refused_here(
    env: dict[str, str], standin: Auth0Standin
) -> None:
    result = gatehouse(env, standin, "connect", "--connection-name", "-gatehouse")
    assert result.exit_code == 2, result.output
    assert standin.requests == []


def test_custom_domains_are_redirect_uris_too(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    ok(env, standin, "connect", "--custom-domain", "login.app.test")
    with store.unit_of_work() as uow:
        client = uow.clients.get(standin.named("gatehouse")["options"]["client_id"])
    assert client.redirect_uris == (
        f"https://{DOMAIN}/login/callback",
        "https://login.app.test/login/callback",
    )


@pytest.mark.parametrize("custom", ["*.app.test", "login.app.test/x", "login.app.test#"])
def test_a_custom_domain_that_is_not_one_is_refused_before_auth0_is_asked(
    env: dict[str, str], standin: Auth0Standin, custom: str
) -> None:
    result = gatehouse(env, standin, "connect", "--custom-domain", custom)
    assert result.exit_code == 2, result.output
    assert "is not a domain" in result.output
    assert standin.requests == []


def test_action_prints_the_post_login_action(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["auth0", "action", "--connection-name", "sso", "--claim-namespace", "https://a.test/"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert 'event.connection.name !== "sso"' in result.stdout
    assert 'const namespace = "https://a.test/";' in result.stdout
    for claim in ORGANIZATION_CLAIMS:
        assert f'"{claim}"' in result.stdout
    assert "api.idToken.setCustomClaim" in result.stdout
    assert "api.accessToken.setCustomClaim" in result.stdout


def test_a_claimed_but_unverified_domain_never_routes_in_auth0(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    """D-01: an unverified claim is inert, in Auth0's Identifier First too."""
    with store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id="org_acme", name="victim.example"))
    ok(env, standin, "connect")
    ok(env, standin, "sync")
    assert standin.named("gatehouse")["options"]["domain_aliases"] == ["acme.example"]


def test_a_released_domain_keeps_an_unrelated_organizations_domain(
    env: dict[str, str], standin: Auth0Standin, store: SqlStore
) -> None:
    with store.unit_of_work() as uow:
        add_organization(uow, org_id="org_globex", name="Globex", domain="globex.example",
                         now=NOW, connection_id="conn_globex")  # fmt: skip
        acme = uow.domains.get("org_acme", "acme.example")
        uow.domains.save(replace(acme, verified_at=None))  # released by un-verifying
    ok(env, standin, "connect")
    assert standin.named("gatehouse")["options"]["domain_aliases"] == ["globex.example"]
