"""Fixtures for the IdP simulator's tests: one key pair per session, a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp_simulator.config import DEFAULT_ALLOWED_ACS, SimulatorConfig
from idp_simulator.idp import SimulatedIdp
from idp_simulator.keys import IdpKeys, generate

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
