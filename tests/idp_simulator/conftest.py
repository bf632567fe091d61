"""Fixtures for the IdP simulator's tests: one key pair per session, a fixed clock, and an
OpenID Provider flow (`oidc`) whose clock a test can move."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from idp_simulator.app import create_app
from idp_simulator.config import DEFAULT_ALLOWED_ACS, SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.idp import SimulatedIdp
from tests.idp_simulator.oidc_helpers import CLIENT_SECRET, MovableClock, OidcFlow

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
BASE_URL = "http://127.0.0.1:7000"


@pytest.fixture(scope="session")
def keys() -> IdpKeys:
    return generate()


@pytest.fixture(scope="session")
def wrong_keys() -> IdpKeys:
    return generate("Not the IdP")


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(
        base_url=BASE_URL, key_dir=None, allowed_acs_prefixes=DEFAULT_ALLOWED_ACS
    )


@pytest.fixture
def idp(config: SimulatorConfig, keys: IdpKeys, wrong_keys: IdpKeys) -> SimulatedIdp:
    return SimulatedIdp(config, keys, lambda: NOW, wrong_keys=wrong_keys)


@pytest.fixture
def oidc(keys: IdpKeys) -> Iterator[OidcFlow]:
    config = SimulatorConfig(
        base_url=BASE_URL,
        key_dir=None,
        allowed_acs_prefixes=DEFAULT_ALLOWED_ACS,
        oidc_client_secret=CLIENT_SECRET,
    )
    clock = MovableClock(NOW)
    app = create_app(config, keys=keys, clock=clock)
    with TestClient(app, follow_redirects=False) as client:
        yield OidcFlow(client, clock, config)
