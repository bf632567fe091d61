"""`reach`: what `gatehouse doctor` asks of each active connection's IdP, through the guarded
outbound client, against the IdP simulator served on loopback and a closed port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from broker.upstream.outbound import OutboundPolicy, make_client
from broker.upstream.reachability import Reachability, reach
from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import generate
from tests.support.live_server import free_port, serve

POLICY = OutboundPolicy.for_environment(production=False, deadline_seconds=3)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    port = free_port()
    config = SimulatorConfig(
        base_url=f"http://127.0.0.1:{port}",
        key_dir=None,
        allowed_acs_prefixes=("http://127.0.0.1",),
    )
    with serve(create_simulator(config, keys=generate()), port) as base:
        yield f"{base}/oidc"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with make_client(POLICY) as client:
        yield client


def oidc(issuer: str, **settings: object) -> dict[str, object]:
    return {"issuer": issuer, "client_id": "gatehouse", "client_secret_encrypted": "x",
            **settings}  # fmt: skip


def test_an_oidc_idp_is_asked_for_its_discovery_document(issuer: str, http: httpx.Client) -> None:
    url = f"{issuer}/.well-known/openid-configuration"
    assert reach("oidc", oidc(issuer), http, POLICY) == Reachability(url)


def test_a_document_for_another_issuer_is_a_problem(issuer: str, http: httpx.Client) -> None:
    reached = reach("oidc", oidc(issuer + "/"), http, POLICY)
    assert reached.url == f"{issuer}/.well-known/openid-configuration"
    assert reached.problem == f"the document's issuer is {issuer!r}, not {issuer + '/'!r}"


def test_endpoints_given_by_hand_are_checked_by_the_jwks(issuer: str, http: httpx.Client) -> None:
    endpoints = {
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks.json",
    }
    assert reach("oidc", oidc(issuer, endpoints=endpoints), http, POLICY) == Reachability(
        f"{issuer}/jwks.json"
    )
    missing = {**endpoints, "jwks_uri": f"{issuer}/no-such-jwks.json"}
    reached = reach("oidc", oidc(issuer, endpoints=missing), http, POLICY)
    assert reached == Reachability(f"{issuer}/no-such-jwks.json", "the server answered 404")


def test_a_closed_port_and_unusable_settings_are_problems(http: httpx.Client) -> None:
    closed = f"http://127.0.0.1:{free_port()}/oidc"
    reached = reach("oidc", oidc(closed), http, POLICY)
    assert reached.problem == f"cannot reach {closed}/.well-known/openid-configuration"
    broken = reach("oidc", {"issuer": closed}, http, POLICY)
    assert broken.url is None
    assert broken.problem is not None
    assert broken.problem.startswith("its settings no longer pass Gatehouse's checks (")


def test_a_saml_connection_has_nothing_to_fetch(http: httpx.Client) -> None:
    assert reach("saml", {}, http, POLICY) == Reachability(None)
