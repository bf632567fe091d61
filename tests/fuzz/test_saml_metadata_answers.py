"""The SAML metadata refresh against a hostile metadata URL: whatever the customer's host
answers (bytes, a mangled document, entities, a wrong date or duration), the connection is
left exactly as it was, one `connection.metadata_refresh_failed` tells it (not one per
run), and nothing is logged at ERROR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, strategies as st
from starlette.testclient import TestClient

from broker.jobs import saml_metadata_refresh
from broker.store import Store
from broker.store.protocols_saml_metadata import MetadataRefresh
from idp_simulator.app import create_app
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.metadata import metadata_xml
from tests.fuzz.conftest import Watch, fuzz
from tests.support.metadata_world import (
    IDP_ENTITY_ID,
    SSO_URL,
    RefreshWorld,
    hosted_world,
    simulator_config,
)

LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;&b;</r>'
)


@pytest.fixture(scope="module")
def keys() -> IdpKeys:
    return generate("IdP signing")


@pytest.fixture
def hosted(store: Store, tmp_path: Path, keys: IdpKeys, watch: Watch) -> Iterator[RefreshWorld]:
    with hosted_world(store, tmp_path, keys) as world:
        world.refresh()  # a first good read: the state a failure streak starts from
        watch.clear()
        yield world


def mangled(good: bytes) -> st.SearchStrategy[bytes]:
    """The good document cut short, with a byte changed, or with hostile attributes."""
    cut = st.integers(min_value=0, max_value=len(good) - 2).map(lambda n: good[:n])
    flipped = st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)).map(
        lambda p: good[: p[0]] + bytes([p[1]]) + good[p[0] + 1 :]
    )
    attribute = st.sampled_from(["validUntil", "cacheDuration"])
    value = st.text(max_size=30).map(lambda t: t.replace('"', "").replace("<", ""))
    attributed = st.tuples(attribute, value).map(
        lambda p: good.replace(
            b"<md:EntityDescriptor ", f'<md:EntityDescriptor {p[0]}="{p[1]}" '.encode(), 1
        )
    )
    return cut | flipped | attributed


@fuzz(max_examples=30)
@given(data=st.data())
@example(data=None)
def test_a_hostile_metadata_answer_changes_nothing_and_is_told_once(
    hosted: RefreshWorld, keys: IdpKeys, watch: Watch, data: st.DataObject | None
) -> None:
    good = metadata_xml(IDP_ENTITY_ID, SSO_URL, keys)
    answer = LAUGHS if data is None else data.draw(st.binary(max_size=3000) | mangled(good))
    before = hosted.current()
    start = hosted.clock.now()
    with hosted.store.unit_of_work() as uow:  # a streak of its own for each example
        uow.saml_metadata_refreshes.put(
            MetadataRefresh(connection_id=before.id, next_fetch_at=hosted.clock.now())
        )
    hosted.host.document = answer
    first = hosted.refresh(after=saml_metadata_refresh.MIN_AGE)
    second = hosted.refresh(after=saml_metadata_refresh.RETRY_AFTER)
    failed = len([e for e in hosted.events("connection.metadata_refresh_failed") if e.at > start])
    if first == {"failed": 1}:
        assert second == {"failed": 1}
        assert failed == 1
        assert hosted.current() == before
    else:  # still metadata of this IdP (a byte of a comment, or of a certificate)
        assert first in ({"unchanged": 1}, {"changed": 1}), first
        assert failed == 0
        kept = before.config["idp_certificates"]
        assert isinstance(kept, list)
        assert set(kept) <= set(hosted.trusted())  # nothing dropped without a login
    assert watch.bad == []


@pytest.fixture(scope="module")
def simulator(keys: IdpKeys) -> TestClient:
    return TestClient(create_app(simulator_config(), keys=keys), raise_server_exceptions=False)


@fuzz(max_examples=40)
@given(step=st.text(max_size=40), extra=st.dictionaries(st.text(max_size=10), st.text(max_size=20)))
@example(step="publish", extra={"step": "retire"})
def test_the_simulators_rollover_control_answers_200_or_409(
    simulator: TestClient, step: str, extra: dict[str, str]
) -> None:
    """The simulator's new form (POST /rollover): any step, any other fields; one
    simulator for every example, so some steps are taken and later ones refused."""
    answer = simulator.post("/rollover", data={**extra, "step": step})
    assert answer.status_code in (200, 409), answer.text
