"""Access follows the directory through both protocols, end to end in process with the IdP
simulator (issue 17: "a person deactivated ... cannot sign in through SAML or OIDC on the
next attempt; reactivated, can"): the relying party, Gatehouse, the simulator's SAML IdP or
OpenID Provider, and back, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from broker.model.directories import LinkKey
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.directory_people import DirectoryPeople
from tests.support.oidc_world import build_oidc_world
from tests.support.saml_world import build_saml_world
from tests.support.simulator import SimulatorWorld


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture(params=["saml", "oidc"])
def world(
    request: pytest.FixtureRequest, store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> Iterator[SimulatorWorld]:
    build = build_saml_world if request.param == "saml" else build_oidc_world
    built = build(store, tmp_path, idp_keys)
    with built.gatehouse.client, built.idp:
        yield built


def sign_in(world: SimulatorWorld) -> httpx.Response:
    _, back = world.login()  # type: ignore[attr-defined]  # both worlds have it
    assert isinstance(back, httpx.Response)
    return back


def people_of(world: SimulatorWorld) -> DirectoryPeople:
    return DirectoryPeople(world.store, world.organization.id, world.gatehouse.clock.now())


def failures(world: SimulatorWorld) -> list[str | None]:
    with world.store.unit_of_work() as uow:
        events = uow.audit.list(organization_id=world.organization.id, kind="login.failed")
    return [event.reason for event in events]


def test_deactivated_cannot_sign_in_and_reactivated_can(world: SimulatorWorld) -> None:
    people = people_of(world)
    people.open()
    people.provision("du_alice", user_name="alice", email=world.email)
    world.code_from(sign_in(world))
    people.set_active("du_alice", False)
    refused = sign_in(world)
    assert refused.status_code == 403, refused.text
    assert "deactivated by your organization" in refused.text
    assert failures(world) == ["directory_user_inactive"]
    people.set_active("du_alice", True)
    world.code_from(sign_in(world))


def test_deleted_cannot_sign_in(world: SimulatorWorld) -> None:
    people = people_of(world)
    people.open()
    people.provision("du_alice", user_name="alice", email=world.email)
    people.provision("du_bob", user_name="bob", email="bob@" + world.email.split("@")[1])
    people.delete("du_alice")
    assert sign_in(world).status_code == 403
    assert failures(world) == ["directory_user_unknown"]


@pytest.mark.parametrize("link_key", [LinkKey.EXTERNAL_ID, LinkKey.SUBJECT])
def test_the_idps_subject_links_the_person(world: SimulatorWorld, link_key: LinkKey) -> None:
    """The NameID (SAML) or `sub` (OIDC) the simulator sends, as the SCIM externalId or
    userName its directory would hold."""
    world.code_from(sign_in(world))  # no directory yet: learn the IdP's subject for Alice
    with world.store.unit_of_work() as uow:
        [identity] = uow.identities.page(world.organization.id, after=None, limit=2)
    people = people_of(world)
    people.open(link_key=link_key)
    subject = identity.idp_subject
    if link_key is LinkKey.EXTERNAL_ID:
        people.provision("du_alice", user_name="alice", external_id=subject, active=False)
    else:
        people.provision("du_alice", user_name=subject.upper(), active=False)
    assert sign_in(world).status_code == 403
    assert failures(world) == ["directory_user_inactive"]
    people.set_active("du_alice", True)
    world.code_from(sign_in(world))
