"""The SAML metadata refresh against real metadata URLs on loopback: the simulator's own
rollover, picked up without a login ever failing, and a host that serves what a test sets
(an expired document, a cacheDuration, a changed SSO URL, an outage)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from broker.jobs import saml_metadata_refresh
from broker.model.opaque import new_id
from broker.model.portal import ConnectionTest, config_digest
from broker.store import Store
from broker.upstream.saml.xmlsig import pem_fingerprint
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.metadata import metadata_xml
from tests.support.gatehouse import ACTOR
from tests.support.metadata_world import (
    IDP_ENTITY_ID,
    SSO_URL,
    RefreshWorld,
    hosted_world,
    post_rollover,
    rollover_world,
)

HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def keys() -> IdpKeys:
    return generate("IdP signing 2026")


@pytest.fixture(scope="module")
def next_keys() -> IdpKeys:
    return generate("IdP signing 2027")


@pytest.fixture
def rollover(
    store: Store, tmp_path: Path, keys: IdpKeys, next_keys: IdpKeys
) -> Iterator[RefreshWorld]:
    with rollover_world(store, tmp_path, keys, next_keys) as world:
        yield world


@pytest.fixture
def hosted(store: Store, tmp_path: Path, keys: IdpKeys) -> Iterator[RefreshWorld]:
    with hosted_world(store, tmp_path, keys) as world:
        yield world


def fingerprints(world: RefreshWorld) -> list[str]:
    return [pem_fingerprint(pem) for pem in world.trusted()]


def logs_in(world: RefreshWorld) -> None:
    _, back = world.login()
    world.code_from(back)


def cert(keys: IdpKeys) -> str:
    return pem_fingerprint(keys.certificate_pem.decode())


def test_a_connection_made_from_a_metadata_url_keeps_it(rollover: RefreshWorld) -> None:
    assert rollover.current().config["metadata_url"] == rollover.metadata_url


def test_a_rollover_is_picked_up_and_logins_never_fail(
    rollover: RefreshWorld, keys: IdpKeys, next_keys: IdpKeys
) -> None:
    old, new = cert(keys), cert(next_keys)
    logs_in(rollover)
    post_rollover(rollover, "publish")
    assert rollover.refresh() == {"changed": 1}
    assert fingerprints(rollover) == [old, new]
    added = rollover.events("connection.certificate_added")
    assert [e.detail["sha256_fingerprint"] for e in added] == [new]
    assert added[0].actor == saml_metadata_refresh.ACTOR
    assert added[0].detail["version"] == rollover.current().version
    logs_in(rollover)  # still signed with the old one
    post_rollover(rollover, "switch")
    logs_in(rollover)  # signed with the new one: trusted already
    assert rollover.refresh() == {"unchanged": 1}  # both still listed
    post_rollover(rollover, "retire")
    assert rollover.refresh() == {"changed": 1}
    assert fingerprints(rollover) == [new]
    removed = rollover.events("connection.certificate_removed")
    assert [e.detail["sha256_fingerprint"] for e in removed] == [old]
    assert removed[0].detail["verified_with"] == [new]
    logs_in(rollover)


def test_a_certificate_gone_from_the_metadata_stays_until_a_login_verified_another(
    rollover: RefreshWorld, keys: IdpKeys, next_keys: IdpKeys
) -> None:
    """The IdP retires the old certificate before anyone logged in under the new one: the
    old one stays trusted (the IdP might still use it) until a login proves the new one."""
    old, new = cert(keys), cert(next_keys)
    logs_in(rollover)  # under the old one: that is no proof for the new one
    post_rollover(rollover, "publish")
    rollover.refresh()
    post_rollover(rollover, "switch")
    post_rollover(rollover, "retire")
    assert rollover.refresh() == {"unchanged": 1}
    assert fingerprints(rollover) == [old, new]
    assert rollover.events("connection.certificate_removed") == []
    logs_in(rollover)
    # A pending removal is looked at again soon, not in a day.
    assert rollover.refresh(after=saml_metadata_refresh.MIN_AGE) == {"changed": 1}
    assert fingerprints(rollover) == [new]


def test_the_next_login_uses_the_new_certificate_without_a_restart(
    rollover: RefreshWorld,
) -> None:
    """The connector cache keys on the version: the refreshed connection opens anew."""
    logs_in(rollover)
    before = rollover.current().version
    post_rollover(rollover, "publish")
    post_rollover(rollover, "switch")
    _, refused = rollover.login()
    assert refused.status_code != 302 or "code=" not in refused.headers.get("location", "")
    rollover.refresh()
    assert rollover.current().version == before + 1
    logs_in(rollover)


def test_metadata_past_its_valid_until_is_refused_once_per_streak(
    hosted: RefreshWorld, keys: IdpKeys
) -> None:
    before = hosted.current()
    expired = hosted.clock.now() + timedelta(hours=2)  # past by the refresh, a day later
    hosted.host.document = with_attributes(
        metadata_xml(IDP_ENTITY_ID, SSO_URL, keys, generate("IdP next")),
        validUntil=expired.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert hosted.refresh() == {"failed": 1}
    assert hosted.refresh(after=saml_metadata_refresh.RETRY_AFTER) == {"failed": 1}
    failed = hosted.events("connection.metadata_refresh_failed")
    assert [e.reason for e in failed] == ["expired"]
    assert hosted.current() == before  # the next certificate in it was not taken


def test_a_failure_streak_ends_with_a_good_answer_and_a_new_one_is_told_again(
    hosted: RefreshWorld, keys: IdpKeys
) -> None:
    good = hosted.host.document
    hosted.host.status = 503
    assert hosted.refresh() == {"failed": 1}
    hosted.host.status = 200
    assert hosted.refresh() == {"unchanged": 1}
    hosted.host.document = b"<not metadata"
    assert hosted.refresh() == {"failed": 1}
    failed = hosted.events("connection.metadata_refresh_failed")
    assert [e.reason for e in failed] == ["fetch_failed", "invalid"]
    assert "503" in str(failed[0].detail["problem"])
    hosted.host.document = good


def test_cache_duration_brings_the_next_fetch_forward(hosted: RefreshWorld, keys: IdpKeys) -> None:
    hosted.host.document = with_attributes(
        metadata_xml(IDP_ENTITY_ID, SSO_URL, keys), cacheDuration="PT1H"
    )
    hosted.refresh()
    fetched = hosted.host.fetches
    assert hosted.refresh(after=timedelta(minutes=30)) == {}  # not due yet
    assert hosted.host.fetches == fetched
    assert hosted.refresh(after=timedelta(minutes=30)) == {"unchanged": 1}
    assert hosted.host.fetches == fetched + 1


def test_without_cache_duration_the_metadata_is_read_daily(hosted: RefreshWorld) -> None:
    hosted.refresh()
    fetched = hosted.host.fetches
    assert hosted.refresh(after=23 * HOUR) == {}
    assert hosted.refresh(after=HOUR) == {"unchanged": 1}
    assert hosted.host.fetches == fetched + 1


def test_a_hostile_cache_duration_does_not_make_every_run_fetch(
    hosted: RefreshWorld, keys: IdpKeys
) -> None:
    hosted.host.document = with_attributes(
        metadata_xml(IDP_ENTITY_ID, SSO_URL, keys), cacheDuration="PT0S"
    )
    hosted.refresh()
    with hosted.store.unit_of_work() as uow:
        state = uow.saml_metadata_refreshes.get(hosted.connection.id)
    assert state is not None
    assert state.next_fetch_at == hosted.clock.now() + saml_metadata_refresh.MIN_AGE


def test_a_changed_sso_url_is_reported_once_and_not_applied(
    hosted: RefreshWorld, keys: IdpKeys
) -> None:
    before = hosted.current()
    moved = "https://idp.example.test/sso/v2"
    hosted.host.document = metadata_xml(IDP_ENTITY_ID, moved, keys)
    assert hosted.refresh() == {"unchanged": 1}
    assert hosted.refresh() == {"unchanged": 1}
    changed = hosted.events("connection.metadata_changed")
    assert len(changed) == 1
    assert changed[0].detail["differences"] == {"sso_url": {"stored": SSO_URL, "metadata": moved}}
    assert hosted.current() == before


def test_a_connection_without_a_metadata_url_is_not_refreshed(hosted: RefreshWorld) -> None:
    """Configs stored before the URL was kept (or from a document, or typed values)."""
    current = hosted.current()
    config = {k: v for k, v in current.config.items() if k != "metadata_url"}
    connections = hosted.gatehouse.broker.management.connections
    connections.save("test", current, replace(current, config=config), "connection.updated")
    fetched = hosted.host.fetches
    assert hosted.refresh() == {}
    assert hosted.host.fetches == fetched


def with_attributes(document: bytes, **attributes: str) -> bytes:
    """`document`'s EntityDescriptor with `attributes` added (validUntil, cacheDuration)."""
    text = document.decode()
    added = " ".join(f'{name}="{value}"' for name, value in attributes.items())
    return text.replace("<md:EntityDescriptor ", f"<md:EntityDescriptor {added} ", 1).encode()


def test_a_login_records_the_certificate_it_verified_under(
    rollover: RefreshWorld, keys: IdpKeys
) -> None:
    logs_in(rollover)
    with rollover.store.unit_of_work() as uow:
        used = uow.saml_certificate_use.last_verified(rollover.connection.id)
    assert list(used) == [cert(keys)]


def test_a_document_given_by_hand_ends_the_refresh(hosted: RefreshWorld) -> None:
    """New metadata uploaded (not a URL): the URL it replaces is no longer the source."""
    hosted.gatehouse.broker.management.connections.update(
        ACTOR, hosted.organization.id, hosted.connection.id,
        settings={"metadata_xml": hosted.host.document.decode()},
    )  # fmt: skip
    assert "metadata_url" not in hosted.current().config
    fetched = hosted.host.fetches
    assert hosted.refresh() == {}
    assert hosted.host.fetches == fetched


def _passed_test_of_the_draft(world: RefreshWorld) -> None:
    """What a passed portal test login of exactly the draft records."""
    connection = world.current()
    assert connection.draft is not None
    with world.store.unit_of_work() as uow:
        uow.connection_tests.add(
            ConnectionTest(
                id=new_id("tst"), organization_id=connection.organization_id,
                connection_id=connection.id, config_digest=config_digest(connection.draft),
                passed=True, reason=None, report={}, created_at=world.clock.now(),
            )
        )  # fmt: skip


def test_a_pending_draft_follows_the_refresh_so_publishing_it_reverts_nothing(
    rollover: RefreshWorld, keys: IdpKeys, next_keys: IdpKeys
) -> None:
    """An IT admin's draft (another setting changed) is pending while the refresh adds the
    IdP's next certificate and later drops the retired one: the draft follows both, keeps
    the admin's change, and publishing it keeps the refreshed trust (review of issue 16,
    finding 5)."""
    old, new = cert(keys), cert(next_keys)
    drafts = rollover.gatehouse.broker.management.connection_drafts
    connection = rollover.current()
    org, cid = connection.organization_id, connection.id
    drafts.change(ACTOR, org, cid, {"attribute_profile": "okta"})
    logs_in(rollover)
    post_rollover(rollover, "publish")
    assert rollover.refresh() == {"changed": 1}
    draft = rollover.current().draft
    assert draft is not None
    assert [pem_fingerprint(p) for p in draft["idp_certificates"]] == [old, new]
    assert draft["attribute_profile"] == "okta"
    [added] = rollover.events("connection.certificate_added")
    assert added.detail["draft_updated"] is True
    post_rollover(rollover, "switch")
    logs_in(rollover)
    post_rollover(rollover, "retire")
    assert rollover.refresh() == {"changed": 1}
    draft = rollover.current().draft
    assert draft is not None
    assert [pem_fingerprint(p) for p in draft["idp_certificates"]] == [new]
    _passed_test_of_the_draft(rollover)
    drafts.promote(ACTOR, org, cid)
    published = rollover.current()
    assert published.draft is None
    assert published.config["attribute_profile"] == "okta"
    assert fingerprints(rollover) == [new]
    logs_in(rollover)


def test_a_draft_that_changes_only_trust_the_refresh_also_made_is_no_longer_pending(
    rollover: RefreshWorld, next_keys: IdpKeys
) -> None:
    """The admin drafted the IdP's next certificate by hand; the refresh trusts it too:
    the draft now equals the active settings, so nothing is pending."""
    drafts = rollover.gatehouse.broker.management.connection_drafts
    connection = rollover.current()
    drafts.add_certificate(
        ACTOR, connection.organization_id, connection.id, next_keys.certificate_pem.decode()
    )
    assert rollover.current().draft is not None
    post_rollover(rollover, "publish")
    assert rollover.refresh() == {"changed": 1}
    assert rollover.current().draft is None


def test_a_draft_for_another_idp_is_left_as_the_admin_wrote_it(
    rollover: RefreshWorld, keys: IdpKeys
) -> None:
    """The admin is moving the connection to another IdP (its entity ID): the refresh read
    the current IdP's metadata, which says nothing about that one's certificates."""
    drafts = rollover.gatehouse.broker.management.connection_drafts
    connection = rollover.current()
    drafts.change(
        ACTOR, connection.organization_id, connection.id, {"idp_entity_id": "urn:another:idp"}
    )
    before = rollover.current().draft
    post_rollover(rollover, "publish")
    assert rollover.refresh() == {"changed": 1}
    assert rollover.current().draft == before
    [added] = rollover.events("connection.certificate_added")
    assert added.detail["draft_updated"] is False
