"""Access follows the directory, with the simulator as the directory (issue 17: "a person
deactivated by the simulator cannot sign in through SAML or OIDC on the next attempt;
reactivated, can"): the simulator's SCIM client provisions Gatehouse over real HTTP on
loopback, as Okta and as Entra ID send it (each vendor's own deactivation: Okta's
path-less `replace` of `{"active": false}`, Entra's `Replace` of `active` with the string
`"False"`), and the person signs in through the simulator's SAML IdP or OpenID Provider.
The app hears of it: `directory.user.deactivated` reaches its webhook receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from broker.app import build_webhook_worker
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.scenarios import DIALECTS
from idp_simulator.scim.sync import DirectorySync
from tests.support.live_server import free_port, serve
from tests.support.oidc_world import build_oidc_world
from tests.support.saml_world import build_saml_world
from tests.support.simulator import SimulatorWorld
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


#: (protocol of the sign-in, vendor of the directory): both protocols, both vendors.
PAIRS = [("saml", "okta"), ("oidc", "entra")]


@pytest.fixture(params=PAIRS, ids=[f"{p}-{v}" for p, v in PAIRS])
def world(
    request: pytest.FixtureRequest, store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> Iterator[tuple[SimulatorWorld, str]]:
    protocol, vendor = request.param
    build = build_saml_world if protocol == "saml" else build_oidc_world
    built = build(store, tmp_path, idp_keys)
    with built.gatehouse.client, built.idp:
        yield built, vendor


def sign_in(world: SimulatorWorld) -> httpx.Response:
    _, back = world.login()  # type: ignore[attr-defined]  # both worlds have it
    assert isinstance(back, httpx.Response)
    return back


@pytest.fixture
def provisioned(
    world: tuple[SimulatorWorld, str],
) -> Iterator[tuple[SimulatorWorld, DirectorySync]]:
    """The organization's directory, provisioned by the simulator as its vendor would: the
    person who signs in (person 0, with the world's email) and two colleagues in a group."""
    simulator, vendor = world
    issued = simulator.gatehouse.broker.management.directories.create(
        "test", organization_id=simulator.organization.id, name=vendor
    )
    directory = build_directory(3, 1, seed="e2e")
    people = list(directory.users)
    people[0] = people[0].with_email(simulator.email)
    directory = replace(directory, users=tuple(people))
    with serve(simulator.gatehouse.app, free_port()) as base_url:
        url = f"{base_url}/scim/v2/{issued.directory.id}"
        with ScimClient(url, issued.token, concurrency=2) as client:
            sync = DirectorySync(client, DIALECTS[vendor](), directory, concurrency=2)
            sync.sync()
            [initial] = sync.summaries
            assert not initial.failures, initial.failures
            yield simulator, sync


def test_deactivated_by_the_directory_cannot_sign_in_and_reactivated_can(
    provisioned: tuple[SimulatorWorld, DirectorySync],
) -> None:
    world, directory = provisioned
    world.code_from(sign_in(world))
    broker = world.gatehouse.broker

    # The world's broker reaches only the simulator; its webhooks go out on a real client.
    with webhook_receiver() as app, httpx.Client() as http:
        worker = build_webhook_worker(
            store=world.store, clock=world.gatehouse.clock, secrets=broker.secrets,
            http=http, policy=broker.outbound,
        )  # fmt: skip
        broker.management.webhooks.create(
            "test", url=app.url, event_types=["directory.user.deactivated"]
        )
        assert directory.set_active(0, active=False) == 200
        worker.run()
        [deactivated] = [json.loads(request.body) for request in app.delivered()]
    assert deactivated["type"] == "directory.user.deactivated"
    assert deactivated["data"]["organization_id"] == world.organization.id
    assert deactivated["data"]["detail"]["email"] == world.email
    refused = sign_in(world)
    assert refused.status_code == 403, refused.text
    assert "deactivated by your organization" in refused.text

    assert directory.set_active(0, active=True) == 200
    world.code_from(sign_in(world))


def test_a_colleague_deactivated_changes_nothing_for_the_person(
    provisioned: tuple[SimulatorWorld, DirectorySync],
) -> None:
    world, directory = provisioned
    assert directory.set_active(1, active=False) == 200
    world.code_from(sign_in(world))
