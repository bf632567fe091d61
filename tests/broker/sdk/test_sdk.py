"""The Python SDK against the real API (in process): tokens, resources, pages, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from broker.sdk import ConfigurationError, Conflict, Forbidden, Gatehouse, InvalidRequest, NotFound
from broker.store import Store
from idp_simulator.keys import generate
from idp_simulator.saml.metadata import metadata_xml
from tests.support.config import ISSUER
from tests.support.management_api import ApiWorld, build_api_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[ApiWorld]:
    api_world = build_api_world(store, tmp_path)
    with api_world.http:
        yield api_world


def sdk(world: ApiWorld, *scopes: str) -> Gatehouse:
    caller = world.caller(*scopes)
    return Gatehouse(ISSUER, caller.client_id, caller.client_secret, http=world.http)


def test_a_portal_link_may_grant_directory_sync(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    acme = gatehouse.organizations.create("Acme Corp")
    link = gatehouse.portal_links.create(acme.id, features=["sso", "directory_sync"])
    assert link.enabled_features == ("sso", "directory_sync")


def test_organizations_and_domains_round_trip(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    acme = gatehouse.organizations.create("Acme Corp", external_id="acme")
    assert gatehouse.organizations.get(acme.id) == acme
    assert gatehouse.organizations.get_by_external_id("acme") == acme
    renamed = gatehouse.organizations.update(acme.id, name="Acme Inc", external_id=None)
    assert (renamed.name, renamed.external_id) == ("Acme Inc", None)
    claim = gatehouse.domains.add(acme.id, "Acme.Test")
    assert claim.name == "acme.test"
    assert claim.verification is not None
    assert claim.verification.name == "_gatehouse-challenge.acme.test"
    assert [d.name for d in gatehouse.domains.list(acme.id)] == ["acme.test"]
    with pytest.raises(Forbidden) as forbidden:  # no default grant carries it
        gatehouse.domains.assert_verified(acme.id, "acme.test")
    assert forbidden.value.scope == "domains:assert"
    operator = sdk(world, "domains:assert")
    asserted = operator.domains.assert_verified(acme.id, "acme.test")
    assert (asserted.name, asserted.verified, asserted.verification) == ("acme.test", True, None)
    gatehouse.domains.delete(acme.id, "acme.test")
    gatehouse.organizations.delete(acme.id)
    with pytest.raises(NotFound):
        gatehouse.organizations.get(acme.id)


def test_lists_iterate_every_page(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    for number in range(7):
        world.clock.advance(timedelta(seconds=1))
        gatehouse.organizations.create(f"Org {number}")
    names = [o.name for o in gatehouse.organizations.list(page_size=3)]
    assert names == [f"Org {n}" for n in range(7)]


def test_errors_carry_the_problem(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    gatehouse.organizations.create("Acme", external_id="acme")
    with pytest.raises(Conflict) as conflict:
        gatehouse.organizations.create("Copy", external_id="acme")
    assert "already used" in conflict.value.detail
    with pytest.raises(InvalidRequest) as invalid:
        gatehouse.organizations.create("")
    assert [e.pointer for e in invalid.value.errors] == ["/name"]
    reader = sdk(world, "organizations:read")
    with pytest.raises(Forbidden) as forbidden:
        reader.organizations.create("Nope")
    assert forbidden.value.scope == "organizations:write"


def test_an_expired_token_is_replaced_without_the_caller_noticing(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    gatehouse.organizations.create("Acme")
    world.clock.advance(timedelta(minutes=10))  # the server's clock: the token is expired
    assert [o.name for o in gatehouse.organizations.list()] == ["Acme"]


def test_a_retried_create_is_not_created_twice(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    transport = gatehouse._transport
    body = {"name": "Acme"}
    first = transport.request("POST", "/organizations", json=body, idempotency_key="signup-1")
    again = transport.request("POST", "/organizations", json=body, idempotency_key="signup-1")
    assert first == again
    assert len(list(gatehouse.organizations.list())) == 1


def test_connections_profiles_links_users_and_events(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    acme = gatehouse.organizations.create("Acme")
    metadata = metadata_xml("https://idp.test/metadata", "https://idp.test/sso", generate())
    waiting = gatehouse.connections.create_saml(acme.id, metadata_xml=metadata.decode())
    assert waiting.active is False  # until asked
    connection = gatehouse.connections.create_saml(
        acme.id, metadata_xml=metadata.decode(), active=True
    )
    assert connection.active is True
    assert (connection.last_test, connection.last_passed_at) == (None, None)
    gatehouse.connections.delete(acme.id, waiting.id)
    assert connection.type == "saml"
    assert connection.settings is not None
    assert connection.settings.acs_url.endswith(f"/saml/{connection.id}/acs")
    inactive = gatehouse.connections.deactivate(acme.id, connection.id)
    assert inactive.active is False
    assert [c.id for c in gatehouse.connections.list(acme.id)] == [connection.id]
    profile = gatehouse.profiles.create(
        "Enterprise",
        user_attributes=[{"name": "email", "required": True}],
        branding={"colors": {"primary": "#0055aa"}},
    )
    assert gatehouse.profiles.update(profile.id, introduction="Hello").introduction == "Hello"
    link = gatehouse.portal_links.create(acme.id, features=["sso"], profile_id=profile.id)
    assert link.url is not None
    assert link.url.startswith(f"{ISSUER}/portal/link/")
    [listed] = gatehouse.portal_links.list(acme.id)
    assert listed.url is None  # shown once
    gatehouse.portal_links.revoke(acme.id, link.id)
    assert next(iter(gatehouse.portal_links.list(acme.id))).status == "revoked"
    with world.store.unit_of_work() as uow:
        uow.identities.record_login(organization_id=acme.id, connection_id=connection.id,
                                    idp_subject="ann", email="ann@acme.test", new_id="usr_ann",
                                    now=world.clock.now())  # fmt: skip
    assert [u.id for u in gatehouse.users.list(acme.id)] == ["usr_ann"]
    gatehouse.users.delete(acme.id, "usr_ann")
    types = {e.type for e in gatehouse.events.list(organization_id=acme.id)}
    assert {"organization.created", "connection.created", "portal_link.revoked",
            "user.deleted"} <= types  # fmt: skip
    only_links = list(gatehouse.events.list(organization_id=acme.id, type="portal_link.*"))
    assert {e.type for e in only_links} == {"portal_link.created", "portal_link.revoked"}


def test_from_env_names_the_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match=r"^GATEHOUSE_CLIENT_ID is not set$"):
        Gatehouse.from_env({"GATEHOUSE_URL": ISSUER})
    with pytest.raises(ConfigurationError, match=r"^GATEHOUSE_CLIENT_SECRET is not set$"):
        Gatehouse.from_env({"GATEHOUSE_CLIENT_ID": "mc_1", "GATEHOUSE_CLIENT_SECRET": ""})
    env = {"GATEHOUSE_CLIENT_ID": "mc_1", "GATEHOUSE_CLIENT_SECRET": "s3cret"}
    with Gatehouse.from_env(env) as gatehouse:
        assert gatehouse._transport.api == "http://127.0.0.1:8000/api/v1"


def test_an_export_follows_every_page_oldest_first(world: ApiWorld) -> None:
    gatehouse = sdk(world)
    start = world.clock.now()
    for number in range(5):
        world.clock.advance(timedelta(seconds=1))
        gatehouse.organizations.create(f"Org {number}")
    world.clock.advance(timedelta(minutes=1))
    exported = list(gatehouse.events.export(since=start, until=world.clock.now(), page_size=2))
    assert [e.detail["name"] for e in exported] == [f"Org {n}" for n in range(5)]
    assert [e.at for e in exported] == sorted(e.at for e in exported)
    with pytest.raises(InvalidRequest):
        list(gatehouse.events.export(since=start, until=start + timedelta(days=1)))
