"""How many database transactions a complete login runs, through each protocol with the IdP
simulator (authorize, the IdP's return, token, userinfo): the figure `make bench` multiplies
by the cost of an empty transaction to show what the stack takes of a login
(`bench.stack_cost`, issue 18). A change that adds or removes a transaction on the login
path fails here, so the bench's figure and this count move together."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.stack_cost import TRANSACTIONS_PER_LOGIN
from broker.store import Store
from broker.store.sql import SqlStore
from idp_simulator.keys import IdpKeys, generate
from tests.support.oidc_world import build_oidc_world
from tests.support.saml_world import build_saml_world
from tests.support.simulator import SimulatorWorld


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture(params=sorted(TRANSACTIONS_PER_LOGIN))
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(
    protocol: str, store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> Iterator[SimulatorWorld]:
    build = build_saml_world if protocol == "saml" else build_oidc_world
    built = build(store, tmp_path, idp_keys)
    with built.gatehouse.client, built.idp:
        yield built


def complete_login(world: SimulatorWorld) -> None:
    login, back = world.login()  # type: ignore[attr-defined]  # both worlds have it
    code = world.code_from(back)
    tokens = world.gatehouse.redeem(code, verifier=login.verifier)
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    claims = world.gatehouse.client.get("/userinfo", headers=bearer)
    assert claims.status_code == 200, claims.text


def test_a_login_runs_the_transactions_the_bench_counts(
    protocol: str, world: SimulatorWorld
) -> None:
    store = world.store
    assert isinstance(store, SqlStore)
    complete_login(world)  # the first login caches what later ones reuse
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    sa.event.listen(store.engine, "begin", count)
    try:
        complete_login(world)
    finally:
        sa.event.remove(store.engine, "begin", count)
    assert len(begun) == TRANSACTIONS_PER_LOGIN[protocol]
