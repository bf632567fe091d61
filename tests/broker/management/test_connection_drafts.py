"""Changing a live connection (broker.management.connection_drafts): every change is a draft
beside the active settings, which logins keep using; the switch-over needs a passed test of
exactly the draft and is one compare-and-swap; every step is an event whose actor is the
portal link, readable through the management API."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from broker.management.connection_drafts import ConnectionDrafts
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.opaque import new_id
from broker.model.portal import ConnectionTest, config_digest
from broker.model.records import Connection
from broker.store import Store
from broker.store.sql import SqlStore
from broker.upstream.saml.config import MAX_IDP_CERTIFICATES
from idp_simulator.saml.metadata import metadata_xml
from tests.support.certificates import certificate_pem, fingerprint, idp_metadata, keys_pem
from tests.support.connection_upstreams import (
    IDP_ENTITY_ID,
    METADATA_URL,
    SSO_URL,
    Upstreams,
    connections_world,
    idp_keys,
    next_idp_keys,
    oidc_settings,
    op_key,
    upstreams,
)
from tests.support.management_api import ApiWorld
from tests.support.management_checks import database_text

__all__ = ["connections_world", "idp_keys", "next_idp_keys", "op_key", "upstreams"]

APP_TEAM = "management_client:mc_test"


@dataclass
class Edit:
    """One organization's SAML connection and the edit link its IT admin uses."""

    world: ApiWorld
    upstreams: Upstreams
    organization_id: str
    connection: Connection
    actor: str

    @property
    def drafts(self) -> ConnectionDrafts:
        return self.world.broker.management.connection_drafts

    def stored(self) -> Connection:
        with self.world.store.unit_of_work() as uow:
            return uow.connections.get(self.connection.id)

    def passed_test(self, config: Mapping[str, object], *, passed: bool = True) -> None:
        """What the broker's test-login callback records (tests/admin_portal prove that part
        with real logins)."""
        with self.world.store.unit_of_work() as uow:
            uow.connection_tests.add(
                ConnectionTest(
                    id=new_id("tst"), organization_id=self.organization_id,
                    connection_id=self.connection.id, config_digest=config_digest(config),
                    passed=passed, reason=None if passed else "signature_invalid", report={},
                    created_at=self.world.clock.now(),
                )
            )  # fmt: skip

    def events(self) -> list[dict[str, Any]]:
        """The audit log as the app team reads it: the management API's /events."""
        response = self.world.admin().get(
            "/events", params={"organization_id": self.organization_id, "limit": 100}
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def _edit(world: ApiWorld, upstreams: Upstreams, name: str = "Acme") -> Edit:
    management = world.broker.management
    org = management.organizations.create(APP_TEAM, name=name)
    saved = management.connections.create_saml(
        APP_TEAM, org.id, {"metadata_xml": upstreams.metadata().decode()}
    )
    link = management.portal_links.create(APP_TEAM, org.id, connection_id=saved.connection.id)
    return Edit(world, upstreams, org.id, saved.connection, f"portal_link:{link.link.id}")


def _engine(store: Store) -> Engine:
    assert isinstance(store, SqlStore)
    return store.engine


@pytest.fixture
def edit(connections_world: ApiWorld, upstreams: Upstreams) -> Edit:
    return _edit(connections_world, upstreams)


def test_a_new_certificate_is_a_draft_beside_the_active_settings(edit: Edit) -> None:
    new_pem = keys_pem(edit.upstreams.next_keys)
    saved = edit.drafts.add_certificate(
        edit.actor, edit.organization_id, edit.connection.id, new_pem
    )

    stored = edit.stored()
    assert stored == saved.connection
    # Logins keep using `config`: untouched, one certificate.
    assert stored.config == edit.connection.config
    assert stored.version == edit.connection.version + 1
    assert stored.draft is not None
    assert [fingerprint(c) for c in stored.draft["idp_certificates"]] == [
        fingerprint(edit.upstreams.keys.certificate_pem),
        fingerprint(new_pem),
    ]
    # Nothing else of the settings moved.
    assert {k: v for k, v in stored.draft.items() if k != "idp_certificates"} == {
        k: v for k, v in stored.config.items() if k != "idp_certificates"
    }
    [event] = [e for e in edit.events() if e["type"] == "connection.draft_saved"]
    assert event["actor"] == edit.actor
    assert event["connection_id"] == edit.connection.id
    assert event["detail"]["changed"] == ["certificates"]
    assert event["detail"]["certificates_added"] == [fingerprint(new_pem)]


def test_a_change_is_parsed_like_an_update_and_builds_on_the_draft(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    drafts.change(edit.actor, org, cid, {"attribute_profile": "okta"})
    drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    draft = edit.stored().draft
    assert draft is not None
    assert draft["attribute_profile"] == "okta"
    assert len(draft["idp_certificates"]) == 2
    # The update's refusals, at the update's pointers; nothing written.
    before = edit.stored()
    with pytest.raises(InvalidInput) as refused:
        drafts.change(edit.actor, org, cid, {"attribute_profile": "nonsense"})
    assert [e.pointer for e in refused.value.errors] == ["/settings/attribute_profile"]
    with pytest.raises(InvalidInput) as unknown:
        drafts.change(edit.actor, org, cid, {"sp_signing": {"private_key_encrypted": "x"}})
    assert [e.pointer for e in unknown.value.errors] == ["/settings/sp_signing"]
    assert edit.stored() == before


def test_the_switch_over_needs_a_passed_test_of_exactly_the_draft(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    with pytest.raises(ResourceConflict, match="no pending changes"):
        drafts.promote(edit.actor, org, cid)
    drafted = drafts.add_certificate(
        edit.actor, org, cid, keys_pem(edit.upstreams.next_keys)
    ).connection
    assert drafted.draft is not None
    with pytest.raises(ResourceConflict, match="test a login"):
        drafts.promote(edit.actor, org, cid)
    # A passed test of the active settings, or a failed one of the draft, does not count.
    edit.passed_test(drafted.config)
    edit.passed_test(drafted.draft, passed=False)
    with pytest.raises(ResourceConflict, match="test a login"):
        drafts.promote(edit.actor, org, cid)
    assert edit.stored() == drafted

    edit.passed_test(drafted.draft)
    status = drafts.status(org, drafted)
    assert status is not None
    assert status.tested
    assert status.change.certificates_added == (
        fingerprint(edit.upstreams.next_keys.certificate_pem),
    )
    promoted = drafts.promote(edit.actor, org, cid, expected_version=drafted.version)
    assert (promoted.config, promoted.draft) == (drafted.draft, None)
    assert promoted.version == drafted.version + 1
    assert edit.stored() == promoted
    [event] = [e for e in edit.events() if e["type"] == "connection.updated"]
    assert event["actor"] == edit.actor
    assert event["detail"]["from_draft"] is True
    assert event["detail"]["changed"] == ["certificates"]
    assert event["detail"]["version"] == promoted.version


def test_a_draft_changed_after_its_test_is_tested_again(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    first = drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    assert first.connection.draft is not None
    edit.passed_test(first.connection.draft)
    drafts.change(edit.actor, org, cid, {"clock_skew_seconds": 30})
    with pytest.raises(ResourceConflict, match="test a login"):
        drafts.promote(edit.actor, org, cid)
    assert edit.stored().config == edit.connection.config


def test_a_switch_over_from_a_page_older_than_the_draft_is_refused(edit: Edit) -> None:
    """The person looked at version n; another tab changed the draft since (and it was
    tested there). Switching on what they did not see is refused."""
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    seen = drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    later = drafts.change(edit.actor, org, cid, {"clock_skew_seconds": 30}).connection
    assert later.draft is not None
    edit.passed_test(later.draft)
    with pytest.raises(ResourceConflict, match="edited since you looked"):
        drafts.promote(edit.actor, org, cid, expected_version=seen.connection.version)
    assert edit.stored() == later


class _Interleaved:
    """A store whose unit of work lets `meanwhile` commit a change from another connection
    right after promote has read the connection and while it looks for the test: the race
    the compare-and-swap exists for."""

    def __init__(self, store: Store, meanwhile: Any) -> None:
        self._store = store
        self._meanwhile = meanwhile

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        with self._store.unit_of_work() as uow:
            yield _HookedUow(uow, self._meanwhile)

    def check(self) -> None:
        self._store.check()


class _HookedUow:
    def __init__(self, uow: Any, meanwhile: Any) -> None:
        self._uow = uow
        self._meanwhile = meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    @property
    def connection_tests(self) -> Any:
        self._meanwhile()
        return self._uow.connection_tests


@pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_a_concurrent_change_during_the_switch_over_wins_over_it(edit: Edit) -> None:
    """PostgreSQL only: promote's read is not a lock, so another transaction can commit
    between it and the save; the save's compare-and-swap then refuses. (SQLite takes the
    write lock at BEGIN IMMEDIATE: no other writer gets in between, so the race cannot
    happen there, and the test is not collected for it.)"""
    store = edit.world.store
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    drafted = drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    assert drafted.connection.draft is not None
    edit.passed_test(drafted.connection.draft)
    raced: list[Connection] = []

    def meanwhile() -> None:
        if not raced:  # the other admin renames the connection, once
            current = edit.stored()
            with store.unit_of_work() as uow:
                raced.append(
                    uow.connections.save(
                        replace(current, name="Renamed"), expected_version=current.version
                    )
                )

    deps = replace(edit.world.broker.management.deps, store=_Interleaved(store, meanwhile))
    racing = ConnectionDrafts(deps, edit.world.broker.management.connections)
    with pytest.raises(ResourceConflict, match="changed since it was read"):
        racing.promote(edit.actor, org, cid)
    assert raced
    stored = edit.stored()
    assert stored == raced[0]
    assert stored.config == edit.connection.config  # the draft was not switched on
    assert not [e for e in edit.events() if e["type"] == "connection.updated"]


def test_discarding_a_draft_leaves_the_active_settings(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    drafted = drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    discarded = drafts.discard(edit.actor, org, cid)
    assert (discarded.config, discarded.draft) == (edit.connection.config, None)
    assert discarded.version == drafted.connection.version + 1
    assert drafts.discard(edit.actor, org, cid) == discarded  # nothing pending: no write
    [event] = [e for e in edit.events() if e["type"] == "connection.draft_discarded"]
    assert event["actor"] == edit.actor


def test_adding_then_removing_a_certificate_leaves_nothing_pending(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    new_pem = keys_pem(edit.upstreams.next_keys)
    drafts.add_certificate(edit.actor, org, cid, new_pem)
    back = drafts.remove_certificate(edit.actor, org, cid, fingerprint(new_pem)).connection
    assert back.draft is None
    assert back.config == edit.connection.config


def test_the_last_certificate_is_never_removed(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    only = fingerprint(edit.upstreams.keys.certificate_pem)
    with pytest.raises(InvalidInput, match="only certificate trusted") as refused:
        drafts.remove_certificate(edit.actor, org, cid, only)
    assert [e.pointer for e in refused.value.errors] == ["/settings/certificates"]
    with pytest.raises(InvalidInput, match="no such certificate"):
        drafts.remove_certificate(edit.actor, org, cid, "AB:CD")
    assert edit.stored() == edit.connection
    # With the next one beside it, the old one goes (colons and case do not matter).
    drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    removed = drafts.remove_certificate(edit.actor, org, cid, only.replace(":", "").lower())
    assert removed.connection.draft is not None
    assert [fingerprint(c) for c in removed.connection.draft["idp_certificates"]] == [
        fingerprint(edit.upstreams.next_keys.certificate_pem)
    ]


def test_a_certificate_that_cannot_be_trusted_is_refused(edit: Edit) -> None:
    """T-11: a private key pasted by mistake, an expired certificate, one trusted already,
    not a certificate at all; and no more than the connector allows at once."""
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    now = edit.world.clock.now()
    key_text = edit.upstreams.next_keys.private_key_pem.decode()
    cases = {
        key_text: "private key",
        certificate_pem(not_after=now - timedelta(days=1)): "expired on",
        keys_pem(edit.upstreams.keys): "trusted already",
        "hello": "not a certificate",
    }
    for value, message in cases.items():
        with pytest.raises(InvalidInput, match=message) as refused:
            drafts.add_certificate(edit.actor, org, cid, value)
        assert [e.pointer for e in refused.value.errors] == ["/settings/certificates/1"]
    assert edit.stored() == edit.connection
    assert "PRIVATE KEY" not in database_text(_engine(edit.world.store))
    for _ in range(MAX_IDP_CERTIFICATES - 1):
        drafts.add_certificate(
            edit.actor, org, cid, certificate_pem(not_after=now + timedelta(days=90))
        )
    with pytest.raises(InvalidInput, match=f"at most {MAX_IDP_CERTIFICATES}"):
        drafts.add_certificate(
            edit.actor, org, cid, certificate_pem(not_after=now + timedelta(days=90))
        )


def test_certificates_from_the_idps_metadata_are_added_beside_the_old(edit: Edit) -> None:
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    upstreams = edit.upstreams
    upstreams.documents[METADATA_URL] = metadata_xml(IDP_ENTITY_ID, SSO_URL, upstreams.next_keys)
    saved = drafts.add_certificates_from_metadata(edit.actor, org, cid, METADATA_URL)
    assert saved.connection.draft is not None
    assert [fingerprint(c) for c in saved.connection.draft["idp_certificates"]] == [
        fingerprint(upstreams.keys.certificate_pem),
        fingerprint(upstreams.next_keys.certificate_pem),
    ]
    with pytest.raises(InvalidInput, match="no certificate that is not trusted"):
        drafts.add_certificates_from_metadata(edit.actor, org, cid, METADATA_URL)
    # A certificate the metadata still lists after it expired is not added.
    expired = certificate_pem(not_after=edit.world.clock.now() - timedelta(days=3))
    upstreams.documents[METADATA_URL] = idp_metadata(IDP_ENTITY_ID, SSO_URL, expired)
    with pytest.raises(InvalidInput, match="no certificate that is not trusted"):
        drafts.add_certificates_from_metadata(edit.actor, org, cid, METADATA_URL)
    # Another IdP's metadata: nothing of it is taken.
    other = "https://idp.test/other-metadata"
    upstreams.documents[other] = metadata_xml("https://other-idp.test", SSO_URL, upstreams.keys)
    before = edit.stored()
    with pytest.raises(InvalidInput, match="another identity provider") as refused:
        drafts.add_certificates_from_metadata(edit.actor, org, cid, other)
    assert [e.pointer for e in refused.value.errors] == ["/settings/metadata_url"]
    assert edit.stored() == before


def test_a_new_client_secret_is_a_draft_and_never_shown(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    management = connections_world.broker.management
    org = management.organizations.create(APP_TEAM, name="Acme")
    settings = oidc_settings(upstreams)
    secret = settings.pop("client_secret")
    created = management.connections.create_oidc(APP_TEAM, org.id, settings, client_secret=secret)
    cid = created.connection.id
    link = management.portal_links.create(APP_TEAM, org.id, connection_id=cid)
    actor = f"portal_link:{link.link.id}"
    drafts = management.connection_drafts
    new_secret = "a-new-secret-from-the-idp-console"
    saved = drafts.change_client_secret(actor, org.id, cid, new_secret).connection
    assert saved.config == created.connection.config
    assert saved.draft is not None
    assert saved.draft["client_secret_encrypted"] != saved.config["client_secret_encrypted"]
    status = drafts.status(org.id, saved)
    assert status is not None
    assert status.change.changed == ("client_secret",)
    assert new_secret not in database_text(_engine(connections_world.store))
    with pytest.raises(InvalidInput, match="without spaces"):
        drafts.change_client_secret(actor, org.id, cid, " padded ")
    with pytest.raises(InvalidInput, match="no certificates to manage"):
        drafts.remove_certificate(actor, org.id, cid, "AB")
    response = connections_world.admin().get("/events", params={"organization_id": org.id})
    [event] = [e for e in response.json()["items"] if e["type"] == "connection.draft_saved"]
    assert event["actor"] == actor
    assert event["detail"] == {"changed": ["client_secret"], "version": saved.version}


def test_a_saml_connection_has_no_secret(edit: Edit) -> None:
    with pytest.raises(InvalidInput, match="no secret"):
        edit.drafts.change_client_secret(
            edit.actor, edit.organization_id, edit.connection.id, "secret"
        )


def test_another_organizations_connection_is_not_found_and_unchanged(
    connections_world: ApiWorld, upstreams: Upstreams
) -> None:
    """T-04 at the use case: the organization comes from the session, the id from the
    request; another's connection is "not found", whichever call."""
    mine = _edit(connections_world, upstreams, "Acme")
    theirs = _edit(connections_world, upstreams, "Rival")
    drafts, org, cid = mine.drafts, mine.organization_id, theirs.connection.id
    pem = keys_pem(upstreams.next_keys)
    theirs.drafts.add_certificate(theirs.actor, theirs.organization_id, cid, pem)
    before = theirs.stored()
    assert before.draft is not None
    theirs.passed_test(before.draft)
    calls: list[Callable[[], object]] = [
        lambda: drafts.change(mine.actor, org, cid, {"clock_skew_seconds": 30}),
        lambda: drafts.add_certificate(mine.actor, org, cid, pem),
        lambda: drafts.remove_certificate(mine.actor, org, cid, fingerprint(pem)),
        lambda: drafts.change_client_secret(mine.actor, org, cid, "x"),
        lambda: drafts.discard(mine.actor, org, cid),
        lambda: drafts.promote(mine.actor, org, cid),
    ]
    for call in calls:
        with pytest.raises(ResourceNotFound):
            call()
    assert theirs.stored() == before


def test_new_active_settings_from_the_api_end_a_pending_draft(edit: Edit) -> None:
    """The draft was built on the settings the update replaces: switching it over later
    would silently undo the update. A rename alone keeps it."""
    drafts, org, cid = edit.drafts, edit.organization_id, edit.connection.id
    drafted = drafts.add_certificate(edit.actor, org, cid, keys_pem(edit.upstreams.next_keys))
    assert drafted.connection.draft is not None
    edit.passed_test(drafted.connection.draft)
    connections = edit.world.broker.management.connections
    renamed = connections.update(APP_TEAM, org, cid, name="Acme SSO").connection
    assert renamed.draft == drafted.connection.draft

    updated = connections.update(APP_TEAM, org, cid, settings={"clock_skew_seconds": 30})
    assert updated.connection.draft is None
    assert updated.connection.config["clock_skew_seconds"] == 30
    with pytest.raises(ResourceConflict, match="no pending changes"):
        drafts.promote(edit.actor, org, cid)
    [event] = [e for e in edit.events() if e["detail"].get("draft_discarded")]
    assert event["type"] == "connection.updated"
    assert event["actor"] == APP_TEAM
