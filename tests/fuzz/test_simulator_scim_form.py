"""The simulator's "Directory (SCIM)" form (POST /scim) under hostile input: never a 5xx,
never an error logged, never the token echoed. A valid form key three times in four, so
the parser and the runs are reached, not only the key check; valid URLs point at an
independent SCIM server on loopback or at a closed port, never at a name to resolve."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import example, given, strategies as st
from starlette.testclient import TestClient

from idp_simulator.app import create_app
from idp_simulator.config import DEFAULT_ALLOWED_ACS, SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.idp_simulator.scim.conftest import (  # noqa: F401 (fixtures)
    TOKEN,
    ScimServer,
    scim_provider,
    scim_server,
)

_KEY = re.compile(r'name="key" value="([^"]+)"')


@pytest.fixture(scope="module")
def sim_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def page(sim_keys: IdpKeys) -> Iterator[TestClient]:
    config = SimulatorConfig(
        base_url="http://127.0.0.1:7000", key_dir=None, allowed_acs_prefixes=DEFAULT_ALLOWED_ACS
    )
    app = create_app(config, keys=sim_keys)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _not_a_url(text: str) -> bool:
    return not text.strip().lower().startswith(("http:", "https:"))


KNOWN = {
    "url": st.one_of(
        hostile.text().filter(_not_a_url),
        hostile.text().map(lambda t: "http://127.0.0.1:1/" + t),
        st.just("LOCAL"),
    ),
    "token": st.one_of(hostile.text(), st.just(TOKEN)),
    "dialect": st.one_of(hostile.text(), st.sampled_from(["okta", "entra"])),
    "scenario": st.one_of(hostile.text(), st.sampled_from(["initial_sync", "leaver"])),
    "users": st.one_of(hostile.numeral(), st.sampled_from(["0", "1", "3", "501"])),
    "groups": st.one_of(hostile.numeral(), st.sampled_from(["0", "1", "2", "51"])),
}


@fuzz(max_examples=60)
@given(
    form=hostile.fields(KNOWN),
    key_kind=st.sampled_from(["valid", "valid", "valid", "hostile"]),
    raw=st.booleans(),
)
@example(
    form=[
        ("url", "LOCAL"),
        ("token", TOKEN),
        ("users", "2"),
        ("groups", "1"),
        ("scenario", "leaver"),
    ],
    key_kind="valid",
    raw=False,
)
def test_the_simulators_scim_form_never_fails(
    page: TestClient,
    scim_server: ScimServer,  # noqa: F811
    watch: Watch,
    form: list[tuple[str, str]],
    key_kind: str,
    raw: bool,
) -> None:
    drawn = [(name, scim_server.base_url if value == "LOCAL" else value) for name, value in form]
    found = _KEY.search(page.get("/scim").text)
    assert found is not None
    drawn.append(("key", found.group(1) if key_kind == "valid" else "forged"))
    answer = page.post(
        "/scim",
        content=hostile.encode(drawn, raw=raw),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code in (200, 400), answer.text[:500]
    # The real token (hostile tokens may equal another field that is rightly shown).
    assert TOKEN not in answer.text
    assert watch.bad == []
