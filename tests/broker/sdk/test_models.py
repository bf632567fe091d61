"""The SDK's typed resources against the real API's answers: every resource the API returns
reads into its dataclass with the API's field names, and `to_dict()` gives back exactly the
JSON the API sent (captured off the wire as the SDK received it); a field a newer server
adds is kept, and a field the SDK needs that is missing is an error naming it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.management.dns_txt import DnsTxtLookup
from broker.model.portal import ConnectionTest
from broker.sdk import (
    Event,
    Gatehouse,
    LastTest,
    MalformedResponse,
    OidcConnection,
    Organization,
    PortalLink,
    Profile,
    SamlConnection,
    User,
)
from broker.sdk.models import connection_from_json
from broker.sdk.schema import ApiObject
from broker.store import Store
from tests.support.config import ISSUER
from tests.support.connection_upstreams import Upstreams, idp_keys, next_idp_keys, op_key, upstreams
from tests.support.dns_server import Zone, dns_server
from tests.support.management_api import ApiWorld, build_api_world

__all__ = ["idp_keys", "next_idp_keys", "op_key", "upstreams"]


class Wire:
    """Every JSON body the management API answered, in order, as the SDK received it."""

    def __init__(self, http: httpx.Client) -> None:
        self.bodies: list[Any] = []
        http.event_hooks["response"].append(self._keep)

    def _keep(self, response: httpx.Response) -> None:
        if "/api/v1/" in response.url.path and response.status_code != 204:
            response.read()
            self.bodies.append(response.json())

    @property
    def last(self) -> Any:
        return self.bodies[-1]

    def round_trips(self, answer: ApiObject) -> None:
        """`answer` is what the API last sent: equal to it parsed again, and written back
        to the very same JSON."""
        assert answer.to_dict() == self.last
        assert type(answer).from_json(self.last) == answer

    def page_round_trips(self, listed: list[Any]) -> None:
        """`listed` is the one page the API last sent."""
        assert self.last["next_cursor"] is None
        assert [answer.to_dict() for answer in listed] == self.last["items"]


@pytest.fixture
def world(store: Store, tmp_path: Path, upstreams: Upstreams) -> Iterator[tuple[ApiWorld, Zone]]:
    with dns_server() as (zone, nameserver):
        api_world = build_api_world(
            store, tmp_path, http=upstreams.client(), dns=DnsTxtLookup(nameserver)
        )
        with api_world.http:
            yield api_world, zone


def sdk(world: ApiWorld) -> tuple[Gatehouse, Wire]:
    caller = world.caller()
    wire = Wire(world.http)
    return Gatehouse(ISSUER, caller.client_id, caller.client_secret, http=world.http), wire


def test_organizations_round_trip(world: tuple[ApiWorld, Zone]) -> None:
    gatehouse, wire = sdk(world[0])
    acme = gatehouse.organizations.create("Acme Corp", external_id="acme")
    wire.round_trips(acme)
    assert isinstance(acme.created_at, datetime)
    assert acme.created_at.tzinfo is not None
    wire.round_trips(gatehouse.organizations.get(acme.id))
    wire.round_trips(gatehouse.organizations.get_by_external_id("acme"))
    renamed = gatehouse.organizations.update(acme.id, external_id=None)
    wire.round_trips(renamed)
    assert renamed.external_id is None
    wire.page_round_trips(list(gatehouse.organizations.list()))


def test_domains_and_their_verification_round_trip(world: tuple[ApiWorld, Zone]) -> None:
    api_world, zone = world
    gatehouse, wire = sdk(api_world)
    acme = gatehouse.organizations.create("Acme")
    claim = gatehouse.domains.add(acme.id, "acme.test")
    wire.round_trips(claim)
    assert claim.verification is not None
    assert (claim.verified, claim.verified_at) == (False, None)
    assert claim.verification.type == "TXT"
    assert claim.verification.name == "_gatehouse-challenge.acme.test"
    failed = gatehouse.domains.verify(acme.id, "acme.test")
    wire.round_trips(failed)
    assert (failed.verified, failed.status, failed.reason) == (False, "failed", "record_not_found")
    zone.publish(claim.verification.name, claim.verification.value)
    passed = gatehouse.domains.verify(acme.id, "acme.test")
    wire.round_trips(passed)
    assert (passed.verified, passed.reason) == (True, None)
    assert passed.domain.verification is None
    assert passed.domain.verified_at is not None
    wire.round_trips(gatehouse.domains.get(acme.id, "acme.test"))
    wire.page_round_trips(list(gatehouse.domains.list(acme.id)))


def test_saml_connections_round_trip(world: tuple[ApiWorld, Zone], upstreams: Upstreams) -> None:
    gatehouse, wire = sdk(world[0])
    acme = gatehouse.organizations.create("Acme")
    created = gatehouse.connections.create_saml(
        acme.id, metadata_xml=upstreams.metadata().decode(), name="Okta", active=True
    )
    wire.round_trips(created)
    assert isinstance(created, SamlConnection)
    assert (created.type, created.name, created.active, created.version) == (
        "saml",
        "Okta",
        True,
        1,
    )
    assert (created.last_test, created.last_passed_at) == (None, None)
    assert created.settings is not None
    assert created.settings.acs_url == f"{ISSUER}/saml/{created.id}/acs"
    assert created.settings.sp_entity_id.startswith(ISSUER)
    assert created.settings.sp_metadata_url.startswith(f"{ISSUER}/saml/")
    [certificate] = created.settings.certificates
    assert certificate.not_after > datetime.now(UTC)
    inactive = gatehouse.connections.deactivate(acme.id, created.id)
    wire.round_trips(inactive)
    assert inactive.active is False
    wire.round_trips(gatehouse.connections.activate(acme.id, created.id))
    renamed = gatehouse.connections.update(acme.id, created.id, name="Okta (prod)")
    wire.round_trips(renamed)
    assert renamed.version > created.version
    wire.round_trips(gatehouse.connections.get(acme.id, created.id))
    wire.page_round_trips(list(gatehouse.connections.list(acme.id)))
    tested_at = world[0].clock.now()
    with world[0].store.unit_of_work() as uow:
        uow.connection_tests.add(
            ConnectionTest(
                id="ct_1", organization_id=acme.id, connection_id=created.id,
                config_digest="d", passed=True, reason=None, report={}, created_at=tested_at,
            )
        )  # fmt: skip
    tested = gatehouse.connections.get(acme.id, created.id)
    wire.round_trips(tested)
    assert isinstance(tested.last_test, LastTest)
    assert (tested.last_test.passed, tested.last_test.at) == (True, tested_at)
    assert tested.last_passed_at == tested_at


def test_oidc_connections_round_trip(world: tuple[ApiWorld, Zone], upstreams: Upstreams) -> None:
    gatehouse, wire = sdk(world[0])
    acme = gatehouse.organizations.create("Acme")
    created = gatehouse.connections.create_oidc(
        acme.id,
        issuer=upstreams.op.issuer,
        client_id=upstreams.op.client_id,
        client_secret=upstreams.op.client_secret,
    )
    wire.round_trips(created)
    assert isinstance(created, OidcConnection)
    assert created.settings is not None
    assert created.settings.redirect_uri == f"{ISSUER}/oidc/{created.id}/callback"
    assert created.settings.client_secret_set is True
    assert created.settings.scopes == ("openid", "profile", "email")
    [listed] = gatehouse.connections.list(acme.id)
    wire.page_round_trips([listed])
    assert listed == created


def test_profiles_round_trip(world: tuple[ApiWorld, Zone]) -> None:
    gatehouse, wire = sdk(world[0])
    plain = gatehouse.profiles.create("Plain")
    wire.round_trips(plain)
    assert plain.branding.colors is None
    branded = gatehouse.profiles.create(
        "Enterprise",
        user_attributes=[{"name": "email", "required": True}],
        branding={"logo_url": "https://cdn.example/logo.png", "colors": {"primary": "#0055aa"}},
    )
    wire.round_trips(branded)
    assert branded.branding.colors is not None
    assert branded.branding.colors.primary == "#0055aa"
    assert [(a.name, a.required) for a in branded.user_attributes] == [("email", True)]
    wire.round_trips(gatehouse.profiles.update(branded.id, introduction="Hello"))
    wire.round_trips(gatehouse.profiles.get(branded.id))
    listed = list(gatehouse.profiles.list())
    wire.page_round_trips(listed)
    assert all(isinstance(p, Profile) for p in listed)


def test_portal_links_users_and_events_round_trip(
    world: tuple[ApiWorld, Zone], upstreams: Upstreams
) -> None:
    api_world = world[0]
    gatehouse, wire = sdk(api_world)
    acme = gatehouse.organizations.create("Acme")
    saml = gatehouse.connections.create_saml(acme.id, metadata_xml=upstreams.metadata().decode())
    link = gatehouse.portal_links.create(acme.id, features=["sso"], connection_id=saml.id)
    wire.round_trips(link)
    assert link.url is not None
    assert (link.connection_id, link.uses, link.status) == (saml.id, 0, "active")
    gatehouse.portal_links.revoke(acme.id, link.id)
    [listed] = gatehouse.portal_links.list(acme.id)
    wire.page_round_trips([listed])
    assert (listed.url, listed.status) == (None, "revoked")
    assert "url" not in listed.to_dict()
    assert isinstance(listed, PortalLink)
    with api_world.store.unit_of_work() as uow:
        uow.identities.record_login(organization_id=acme.id, connection_id=saml.id,
                                    idp_subject="ann", email=None, new_id="usr_ann",
                                    now=api_world.clock.now())  # fmt: skip
    user = gatehouse.users.get(acme.id, "usr_ann")
    wire.round_trips(user)
    assert (user.idp_subject, user.email, user.connection_id) == ("ann", None, saml.id)
    users = list(gatehouse.users.list(acme.id))
    wire.page_round_trips(users)
    assert all(isinstance(u, User) for u in users)
    api_world.clock.advance(timedelta(seconds=1))
    events = list(gatehouse.events.list(organization_id=acme.id))
    wire.page_round_trips(events)
    assert all(isinstance(e, Event) for e in events)
    revoked = next(e for e in events if e.type == "portal_link.revoked")
    assert revoked.actor is not None
    assert revoked.actor.startswith("management_client:")
    assert revoked.organization_id == acme.id


def test_a_field_a_newer_server_adds_is_kept_and_written_back(world: tuple[ApiWorld, Zone]) -> None:
    gatehouse, wire = sdk(world[0])
    gatehouse.organizations.create("Acme")
    newer = {**wire.last, "region": "eu", "plan": {"tier": "enterprise"}}
    acme = Organization.from_json(newer)
    assert acme.extra == {"region": "eu", "plan": {"tier": "enterprise"}}
    assert acme.to_dict() == newer
    known = Organization.from_json(wire.last)
    assert acme != known  # extra takes part in equality,
    assert hash(acme) == hash(known)  # not in the hash: an organization can go in a set


def test_a_missing_or_mistyped_field_names_the_resource_and_the_field(
    world: tuple[ApiWorld, Zone], upstreams: Upstreams
) -> None:
    gatehouse, wire = sdk(world[0])
    acme = gatehouse.organizations.create("Acme")
    without_name = {k: v for k, v in wire.last.items() if k != "name"}
    with pytest.raises(MalformedResponse, match=r"^the API's organization: name is missing$"):
        Organization.from_json(without_name)
    gatehouse.connections.create_saml(acme.id, metadata_xml=upstreams.metadata().decode())
    connection = copy.deepcopy(wire.last)
    del connection["settings"]["certificates"][0]["not_after"]
    with pytest.raises(MalformedResponse) as missing:
        connection_from_json(connection)
    assert (missing.value.resource, missing.value.field) == (
        "SAML connection",
        "settings.certificates[0].not_after",
    )
    connection = {**wire.last, "active": "yes"}
    with pytest.raises(MalformedResponse, match="SAML connection: active is not a boolean"):
        connection_from_json(connection)
    with pytest.raises(MalformedResponse, match="connection: type is 'ldap'"):
        connection_from_json({**wire.last, "type": "ldap"})
    with pytest.raises(MalformedResponse, match="organization: created_at is not an ISO 8601"):
        Organization.from_json({**without_name, "name": "Acme", "created_at": "yesterday"})
