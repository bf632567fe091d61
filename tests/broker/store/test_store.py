"""The store's contract (broker/store/protocols.py), run on every backend.

Each test states one property; the awkward cases (expiry exactly at the boundary, a second
consume, a stale CAS, revocation racing token issue) are the point of the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from broker.model.portal import TrialLogin
from broker.model.records import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    Connection,
    Domain,
    DownstreamClient,
    KeyState,
    Organization,
    PendingAuthorization,
    SigningKeyRecord,
)
from broker.store import AlreadyExists, CodeReplayed, Conflict, NotFound, Store

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
TICK = timedelta(microseconds=1)


def organization(org_id: str = "org_a") -> Organization:
    return Organization(
        id=org_id, name=f"Org {org_id}", external_id=f"ext-{org_id}", created_at=NOW
    )


def connection(con_id: str = "con_a", org_id: str = "org_a") -> Connection:
    return Connection(
        id=con_id,
        organization_id=org_id,
        kind="oidc",
        name="Corporate IdP",
        config={"issuer": "https://idp.test", "scopes": ["openid", "email"], "n": 1},
        domains=("a.test",),
        created_at=NOW,
    )


def request() -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id="rp",
        redirect_uri="https://rp.test/cb",
        scope=("openid", "email"),
        state="st",
        nonce="n-0",
        code_challenge="x" * 43,
        code_challenge_method="S256",
        login_hint="ann@a.test",
        prompt=("login",),
        max_age=300,
        organization_hint="org_a",
        connection_hint="con_a",
    )


def flow(flow_id: str = "flow-1", ttl: timedelta = timedelta(minutes=10)) -> PendingAuthorization:
    return PendingAuthorization(id=flow_id, request=request(), created_at=NOW, expires_at=NOW + ttl)


def code(code_hash: str = "c" * 64, ttl: timedelta = timedelta(seconds=60)) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id="rp",
        redirect_uri="https://rp.test/cb",
        scope=("openid",),
        nonce="n-0",
        code_challenge=None,
        code_challenge_method=None,
        claims={"sub": "usr_1", "email": "ann@a.test", "groups": ["x"]},
        auth_time=NOW - timedelta(seconds=5),
        issued_at=NOW,
        expires_at=NOW + ttl,
    )


def token(token_hash: str = "t" * 64, code_hash: str = "c" * 64) -> AccessToken:
    return AccessToken(
        token_hash=token_hash,
        code_hash=code_hash,
        client_id="rp",
        scope=("openid",),
        claims={"sub": "usr_1"},
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=10),
    )


def key(kid: str = "k1", state: str = KeyState.NEXT) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=kid,
        alg="RS256",
        state=state,
        private_key_encrypted=b"\x00\x01secret\xff",
        public_jwk={"kty": "RSA", "kid": kid, "n": "abc", "e": "AQAB"},
        created_at=NOW,
    )


def seed_tenant(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization())
        uow.connections.add(connection())


# --- round trips ---------------------------------------------------------------------------


def test_client_round_trip_keeps_aware_datetimes(store: Store) -> None:
    created = datetime(2026, 3, 1, 13, 30, 0, 654321, tzinfo=CET)
    client = DownstreamClient(
        client_id="rp",
        name="RP",
        secret_hash="h",
        redirect_uris=("https://rp.test/cb", "https://rp.test/cb2"),
        created_at=created,
    )
    public = replace(client, client_id="native", secret_hash=None, created_at=NOW)
    with store.unit_of_work() as uow:
        uow.clients.add(client)
        uow.clients.add(public)
    with store.unit_of_work() as uow:
        loaded = uow.clients.get("rp")
        assert loaded == client
        assert loaded.created_at.tzinfo == UTC
        assert uow.clients.get("native").is_public
        assert [c.client_id for c in uow.clients.list()] == ["native", "rp"]  # 12:00Z < 12:30Z
        with pytest.raises(NotFound):
            uow.clients.get("nobody")


def test_client_delete_is_idempotent(store: Store) -> None:
    client = DownstreamClient(
        client_id="rp", name="RP", secret_hash=None, redirect_uris=(), created_at=NOW
    )
    with store.unit_of_work() as uow:
        uow.clients.add(client)
    with store.unit_of_work() as uow:
        uow.clients.delete("rp")
        uow.clients.delete("rp")
        uow.clients.add(replace(client, name="Re-seeded"))
    with store.unit_of_work() as uow:
        assert uow.clients.get("rp").name == "Re-seeded"


def test_client_save_stores_the_secrets_and_the_disabled_time(store: Store) -> None:
    client = DownstreamClient(
        client_id="rp", name="RP", secret_hash="h1", redirect_uris=(), created_at=NOW
    )
    changed = replace(client, secret_hash="h2", previous_secret_hash="h1", disabled_at=NOW)
    with store.unit_of_work() as uow:
        uow.clients.add(client)
    with store.unit_of_work() as uow:
        uow.clients.save(changed)
        with pytest.raises(NotFound):
            uow.clients.save(replace(changed, client_id="nobody"))
    with store.unit_of_work() as uow:
        assert uow.clients.get("rp") == changed
        uow.clients.save(replace(changed, previous_secret_hash=None, disabled_at=None))
    with store.unit_of_work() as uow:
        assert uow.clients.get("rp") == replace(client, secret_hash="h2")


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = replace(organization(), created_at=NOW.replace(tzinfo=None))
    with pytest.raises(StatementError, match="naive datetime"), store.unit_of_work() as uow:
        uow.organizations.add(naive)


def test_organizations_round_trip(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_b"))
        uow.organizations.add(replace(organization("org_a"), external_id=None))
    with store.unit_of_work() as uow:
        assert uow.organizations.get("org_b") == organization("org_b")
        assert [o.id for o in uow.organizations.list()] == ["org_a", "org_b"]
        with pytest.raises(NotFound):
            uow.organizations.get("org_x")


def test_organization_by_external_id(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        uow.organizations.add(replace(organization("org_b"), external_id=None))
        uow.organizations.add(replace(organization("org_c"), external_id=None))
    with store.unit_of_work() as uow:
        assert uow.organizations.get_by_external_id("ext-org_a") == organization("org_a")
        with pytest.raises(NotFound):
            uow.organizations.get_by_external_id("ext-org_b")
        with pytest.raises(NotFound):
            uow.organizations.get_by_external_id("EXT-ORG_A")


def test_external_id_names_at_most_one_organization(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_a"))
        with pytest.raises(AlreadyExists, match="ext-org_a"):
            uow.organizations.add(replace(organization("org_b"), external_id="ext-org_a"))
        uow.organizations.add(organization("org_b"))
    with store.unit_of_work() as uow:
        assert [o.external_id for o in uow.organizations.list()] == ["ext-org_a", "ext-org_b"]


@pytest.mark.parametrize(
    "add",
    [
        lambda uow: uow.clients.add(
            DownstreamClient(
                client_id="rp", name="x", secret_hash=None, redirect_uris=(), created_at=NOW
            )
        ),
        lambda uow: uow.organizations.add(organization()),
        lambda uow: uow.connections.add(connection()),
        lambda uow: uow.flows.create(flow()),
        lambda uow: uow.codes.add(code()),
        lambda uow: uow.access_tokens.add(token()),
        lambda uow: uow.keys.add(key()),
    ],
    ids=["client", "organization", "connection", "flow", "code", "access_token", "key"],
)
def test_adding_twice_is_already_exists(store: Store, add) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.clients.add(
            DownstreamClient(
                client_id="rp", name="x", secret_hash=None, redirect_uris=(), created_at=NOW
            )
        )
        uow.flows.create(flow())
        uow.codes.add(code())
        uow.access_tokens.add(token())
        uow.keys.add(key())
    with store.unit_of_work() as uow, pytest.raises(AlreadyExists):
        add(uow)


def test_domains_round_trip_and_verification(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id="org_a", name="b.test"))
        uow.domains.add(Domain(organization_id="org_a", name="a.test"))
        uow.domains.save(Domain(organization_id="org_a", name="a.test", verified_at=NOW))
    with store.unit_of_work() as uow:
        assert uow.domains.get("org_a", "a.test").is_verified
        assert uow.domains.get("org_a", "a.test").verified_at == NOW
        assert not uow.domains.get("org_a", "b.test").is_verified
        assert [d.name for d in uow.domains.for_organization("org_a")] == ["a.test", "b.test"]
        assert uow.domains.for_organization("org_x") == []
        with pytest.raises(NotFound):
            uow.domains.get("org_a", "c.test")


def test_domains_list_all_or_one_organization(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_b"))
        uow.domains.add(Domain(organization_id="org_b", name="b.test", verified_at=NOW))
        uow.domains.add(Domain(organization_id="org_a", name="c.test"))
        uow.domains.add(Domain(organization_id="org_a", name="a.test"))
    with store.unit_of_work() as uow:
        assert [(d.name, d.organization_id) for d in uow.domains.list()] == [
            ("a.test", "org_a"),
            ("b.test", "org_b"),
            ("c.test", "org_a"),
        ]
        assert [d.name for d in uow.domains.list(organization_id="org_a")] == ["a.test", "c.test"]
        assert uow.domains.list(organization_id="org_b") == [
            Domain(organization_id="org_b", name="b.test", verified_at=NOW)
        ]
        assert uow.domains.list(organization_id="org_x") == []


def test_domain_claimed_twice_by_one_organization_is_already_exists(store: Store) -> None:
    """Another organization's claim on the name is allowed (see test_store_tenancy.py):
    only the same (organization, name) twice is a duplicate."""
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_b"))
        uow.domains.add(Domain(organization_id="org_a", name="a.test"))
    with store.unit_of_work() as uow, pytest.raises(AlreadyExists):
        uow.domains.add(Domain(organization_id="org_a", name="a.test", verified_at=NOW))
    with store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id="org_b", name="a.test"))
    with store.unit_of_work() as uow:
        assert [d.organization_id for d in uow.domains.list()] == ["org_a", "org_b"]
        assert not uow.domains.get("org_a", "a.test").is_verified


def test_domain_save_never_moves_it_to_another_organization(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_b"))
        uow.domains.add(Domain(organization_id="org_a", name="a.test"))
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.domains.save(Domain(organization_id="org_b", name="a.test", verified_at=NOW))


def test_rows_referring_to_missing_rows_are_not_found(store: Store) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.domains.add(Domain(organization_id="org_x", name="a.test"))
        with pytest.raises(NotFound):
            uow.connections.add(connection(org_id="org_x"))
        with pytest.raises(NotFound):
            uow.access_tokens.add(token(code_hash="nope"))


def test_connection_round_trip(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.connections.add(replace(connection("con_b"), active=False, domains=()))
    with store.unit_of_work() as uow:
        assert uow.connections.get("con_a") == connection()
        assert [c.id for c in uow.connections.for_organization("org_a")] == ["con_a", "con_b"]
        assert not uow.connections.get("con_b").active
        with pytest.raises(NotFound):
            uow.connections.get("con_x")


def test_connection_save_is_compare_and_swap_on_version(store: Store) -> None:
    seed_tenant(store)
    edited = replace(connection(), name="Renamed", config={"issuer": "https://new.test"})
    with store.unit_of_work() as uow:
        saved = uow.connections.save(edited, expected_version=1)
        assert saved == replace(edited, version=2)
        assert uow.connections.get("con_a").version == 2
    with store.unit_of_work() as uow, pytest.raises(Conflict):
        uow.connections.save(replace(edited, name="Stale"), expected_version=1)
    with store.unit_of_work() as uow:
        assert uow.connections.get("con_a") == replace(edited, version=2)
        with pytest.raises(NotFound):
            uow.connections.save(connection("con_x"), expected_version=1)
        with pytest.raises(NotFound):
            uow.connections.save(replace(edited, organization_id="org_x"), expected_version=2)


def test_connection_draft_round_trip(store: Store) -> None:
    seed_tenant(store)
    drafted = replace(
        connection("con_b"), draft={"issuer": "https://idp.test", "certs": ["old", "new"]}
    )
    with store.unit_of_work() as uow:
        uow.connections.add(drafted)
    with store.unit_of_work() as uow:
        assert uow.connections.get("con_b") == drafted
        assert uow.connections.get("con_a").draft is None
        listed = uow.connections.for_organization("org_a")
        assert [c.draft for c in listed] == [None, drafted.draft]
        assert uow.connections.page("org_a", after=None, limit=5) == listed


def test_connection_draft_is_set_promoted_and_cleared_by_compare_and_swap(store: Store) -> None:
    """Each step of an edit of an active connection is one save: the draft beside the
    active config (logins keep using `config`), then config := draft with the draft gone."""
    seed_tenant(store)
    active = connection()
    new_settings = {**active.config, "n": 2}
    with store.unit_of_work() as uow:
        drafted = uow.connections.save(replace(active, draft=new_settings), expected_version=1)
    assert (drafted.version, drafted.config, drafted.draft) == (2, active.config, new_settings)
    with store.unit_of_work() as uow:
        assert uow.connections.get("con_a") == drafted
        # An edit made from the version before the draft loses, and leaves the draft be.
        with pytest.raises(Conflict):
            uow.connections.save(replace(active, draft={"n": 3}), expected_version=1)
        assert uow.connections.get("con_a").draft == new_settings
    assert drafted.draft is not None
    with store.unit_of_work() as uow:
        promoted = uow.connections.save(
            replace(drafted, config=drafted.draft, draft=None), expected_version=2
        )
    with store.unit_of_work() as uow:
        assert uow.connections.get("con_a") == promoted
    assert (promoted.version, promoted.config, promoted.draft) == (3, new_settings, None)
    with store.unit_of_work() as uow:
        # Discarding a draft is a save without one, too.
        uow.connections.save(replace(promoted, draft={"n": 4}), expected_version=3)
        cleared = uow.connections.save(replace(promoted, draft=None), expected_version=4)
        assert uow.connections.get("con_a") == cleared == replace(promoted, version=5)


# --- identities ----------------------------------------------------------------------------


def test_record_login_is_idempotent_with_a_stable_id(store: Store) -> None:
    seed_tenant(store)
    args = {"organization_id": "org_a", "connection_id": "con_a", "idp_subject": "s-1"}
    with store.unit_of_work() as uow:
        first = uow.identities.record_login(**args, email="ann@a.test", new_id="usr_1", now=NOW)
    later = NOW + timedelta(hours=1)
    with store.unit_of_work() as uow:
        again = uow.identities.record_login(**args, email="ann@new.test", new_id="usr_2", now=later)
        other = uow.identities.record_login(
            **{**args, "idp_subject": "s-2"}, email=None, new_id="usr_3", now=later
        )
    assert first.id == again.id == "usr_1"
    assert (first.created_at, first.last_login_at) == (NOW, NOW)
    assert (again.created_at, again.last_login_at, again.email) == (NOW, later, "ann@new.test")
    assert other.id == "usr_3"


def test_record_login_refuses_a_connection_of_another_organization(store: Store) -> None:
    seed_tenant(store)
    with store.unit_of_work() as uow:
        uow.organizations.add(organization("org_b"))
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.identities.record_login(
            organization_id="org_b",
            connection_id="con_a",
            idp_subject="s-1",
            email=None,
            new_id="usr_1",
            now=NOW,
        )


# --- flows ---------------------------------------------------------------------------------


def test_flow_round_trip(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW) == flow()


def test_flow_entered_email_round_trips_and_may_be_set_by_an_update(store: Store) -> None:
    """Kept inside the request document: the request read back is the one written."""
    with store.unit_of_work() as uow:
        uow.flows.create(replace(flow(), entered_email="ann@acme.test"))
        uow.flows.create(flow("flow-2"))
        uow.flows.update("flow-2", lambda f: replace(f, entered_email="bo@acme.test"), now=NOW)
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW) == replace(flow(), entered_email="ann@acme.test")
        second = uow.flows.get("flow-2", now=NOW)
    assert second == replace(flow("flow-2"), entered_email="bo@acme.test")


def test_flow_browser_binding_round_trip(store: Store) -> None:
    bound = replace(flow(), browser_binding="b" * 64)
    with store.unit_of_work() as uow:
        uow.flows.create(bound)
        uow.flows.create(flow("flow-2"))
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW) == bound
        assert uow.flows.get("flow-2", now=NOW).browser_binding is None
        assert uow.flows.consume("flow-1", now=NOW).browser_binding == "b" * 64


def rebind(binding: str | None) -> Callable[[PendingAuthorization], PendingAuthorization]:
    return lambda f: replace(f, browser_binding=binding)


def test_flow_browser_binding_is_set_once_never_replaced(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    with store.unit_of_work() as uow:
        uow.flows.update("flow-1", lambda f: replace(f, browser_binding="b" * 64), now=NOW)
        # Other changes keep it.
        uow.flows.update("flow-1", lambda f: replace(f, connection_id="con_a"), now=NOW)
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW).browser_binding == "b" * 64
    for other in ("e" * 64, None):
        with store.unit_of_work() as uow, pytest.raises(ValueError, match="browser binding"):
            uow.flows.update("flow-1", rebind(other), now=NOW)
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW).browser_binding == "b" * 64


TEST_LOGIN = TrialLogin(portal_session="s" * 64, use_draft=True, config_digest="d" * 64)


def test_flow_test_login_round_trip(store: Store) -> None:
    tested = replace(flow(), test=TEST_LOGIN)
    with store.unit_of_work() as uow:
        uow.flows.create(tested)
        uow.flows.create(flow("flow-2"))
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW) == tested
        assert uow.flows.get("flow-2", now=NOW).test is None
        changed = uow.flows.update(
            "flow-1", lambda f: replace(f, connection_id="con_a", browser_binding="b"), now=NOW
        )
        assert changed.test == TEST_LOGIN
        assert uow.flows.get("flow-1", now=NOW) == changed
        assert uow.flows.consume("flow-1", now=NOW) == changed
        assert uow.flows.consume("flow-2", now=NOW).test is None


@pytest.mark.parametrize(
    ("created", "updated"),
    [
        (TEST_LOGIN, None),
        (TEST_LOGIN, replace(TEST_LOGIN, config_digest="e" * 64)),
        (TEST_LOGIN, replace(TEST_LOGIN, use_draft=False)),
        (TEST_LOGIN, replace(TEST_LOGIN, portal_session="t" * 64)),
        (None, TEST_LOGIN),
    ],
    ids=["cleared", "other-digest", "active-settings", "other-session", "set-later"],
)
def test_flow_test_login_is_fixed_at_creation(
    store: Store, created: TrialLogin | None, updated: TrialLogin | None
) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(replace(flow(), test=created))
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="test login"):
        uow.flows.update("flow-1", lambda f: replace(f, test=updated), now=NOW)
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=NOW).test == created


def test_flow_expires_exactly_at_its_ttl(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    expiry = flow().expires_at
    with store.unit_of_work() as uow:
        assert uow.flows.get("flow-1", now=expiry - TICK).id == "flow-1"
        with pytest.raises(NotFound):
            uow.flows.get("flow-1", now=expiry)
        with pytest.raises(NotFound):
            uow.flows.update("flow-1", lambda f: f, now=expiry)
        with pytest.raises(NotFound):
            uow.flows.consume("flow-1", now=expiry)
        assert uow.flows.consume("flow-1", now=expiry - TICK).id == "flow-1"


def test_flow_update_records_connection_and_state(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    with store.unit_of_work() as uow:
        uow.flows.get("flow-1", now=NOW)
        updated = uow.flows.update(
            "flow-1",
            lambda f: replace(f, connection_id="con_a", connector_state=b"\x00state"),
            now=NOW,
        )
        assert uow.flows.get("flow-1", now=NOW) == updated
    with store.unit_of_work() as uow:
        loaded = uow.flows.get("flow-1", now=NOW)
    assert (loaded.connection_id, loaded.connector_state) == ("con_a", b"\x00state")
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.flows.update("absent", lambda f: f, now=NOW)


def test_flow_update_cannot_extend_its_life(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    with store.unit_of_work() as uow, pytest.raises(ValueError, match="cannot change"):
        uow.flows.update(
            "flow-1", lambda f: replace(f, expires_at=f.expires_at + timedelta(days=1)), now=NOW
        )


def test_flow_consume_is_single_use(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow())
    with store.unit_of_work() as uow:
        uow.flows.get("flow-1", now=NOW)
        assert uow.flows.consume("flow-1", now=NOW) == flow()
        with pytest.raises(NotFound):
            uow.flows.get("flow-1", now=NOW)
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.flows.consume("flow-1", now=NOW)
        with pytest.raises(NotFound):
            uow.flows.consume("absent", now=NOW)


# --- codes and access tokens ---------------------------------------------------------------


def test_code_consume_then_replay(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(code())
    with store.unit_of_work() as uow:
        assert uow.codes.consume("c" * 64, now=NOW) == code()
    with store.unit_of_work() as uow:
        assert uow.codes.consume("c" * 64, now=NOW) == CodeReplayed(client_id="rp")
    with store.unit_of_work() as uow:
        # A replay is recognized after the code's own expiry too: its tokens may be live.
        later = code().expires_at + timedelta(minutes=5)
        assert uow.codes.consume("c" * 64, now=later) == CodeReplayed(client_id="rp")


def test_expired_or_absent_code_is_not_found(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(code())
    expiry = code().expires_at
    with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.codes.consume("c" * 64, now=expiry)
        with pytest.raises(NotFound):
            uow.codes.consume("absent", now=NOW)
        assert isinstance(uow.codes.consume("c" * 64, now=expiry - TICK), AuthorizationCode)


def test_access_token_round_trip_and_expiry(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(code())
        uow.access_tokens.add(token())
    expiry = token().expires_at
    with store.unit_of_work() as uow:
        assert uow.access_tokens.get("t" * 64, now=expiry - TICK) == token()
        with pytest.raises(NotFound):
            uow.access_tokens.get("t" * 64, now=expiry)
        with pytest.raises(NotFound):
            uow.access_tokens.get("absent", now=NOW)


def test_revoking_the_code_kills_its_tokens_even_those_added_later(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.codes.add(code())
        uow.access_tokens.add(token("t1"))
    with store.unit_of_work() as uow:
        uow.codes.revoke("c" * 64, now=NOW)
        uow.codes.revoke("c" * 64, now=NOW + TICK)
        uow.codes.revoke("absent", now=NOW)
    with store.unit_of_work() as uow:
        uow.access_tokens.add(token("t2"))
    with store.unit_of_work() as uow:
        for token_hash in ("t1", "t2"):
            with pytest.raises(NotFound):
                uow.access_tokens.get(token_hash, now=NOW)
        with pytest.raises(NotFound):
            uow.codes.consume("c" * 64, now=NOW)


def test_purge_expired_keeps_codes_with_live_tokens(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.flows.create(flow("old", ttl=timedelta(seconds=1)))
        uow.flows.create(flow("live"))
        uow.codes.add(code("old-code", ttl=timedelta(seconds=1)))
        uow.codes.add(code("code-with-token", ttl=timedelta(seconds=1)))
        uow.codes.add(code("live-code"))
        uow.access_tokens.add(token("tok", code_hash="code-with-token"))
    soon = NOW + timedelta(seconds=1)
    with store.unit_of_work() as uow:
        assert uow.flows.purge_expired(now=soon, limit=100) == 1
        assert uow.codes.purge_expired(now=soon, limit=100) == 1
        with pytest.raises(NotFound):
            uow.codes.consume("old-code", now=NOW)
        assert uow.flows.get("live", now=soon).id == "live"
        assert uow.access_tokens.get("tok", now=soon).code_hash == "code-with-token"
        assert isinstance(uow.codes.consume("live-code", now=soon), AuthorizationCode)
    token_expiry = token().expires_at
    with store.unit_of_work() as uow:
        assert uow.flows.purge_expired(now=token_expiry, limit=100) == 1  # "live"
        assert uow.codes.purge_expired(now=token_expiry, limit=100) == 2
        with pytest.raises(NotFound):
            uow.codes.consume("code-with-token", now=NOW)


# --- signing keys --------------------------------------------------------------------------


def test_key_round_trip_and_transitions(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.keys.add(key("k1", KeyState.CURRENT))
        uow.keys.add(key("k2"))
    current = replace(key("k2"), state=KeyState.CURRENT, activated_at=NOW)
    retired = replace(key("k1", KeyState.RETIRED), retired_at=NOW)
    with store.unit_of_work() as uow:
        assert uow.keys.list() == [key("k1", KeyState.CURRENT), key("k2")]
        # Retire first: at no moment may two keys be CURRENT (or NEXT).
        uow.keys.transition("k1", from_state=KeyState.CURRENT, to=retired)
        uow.keys.transition("k2", from_state=KeyState.NEXT, to=current)
    with store.unit_of_work() as uow:
        assert uow.keys.list() == [retired, current]
        with pytest.raises(Conflict):
            uow.keys.transition("k2", from_state=KeyState.NEXT, to=current)
        with pytest.raises(Conflict):
            uow.keys.transition("k9", from_state=KeyState.NEXT, to=key("k9"))
        with pytest.raises(ValueError, match="kid"):
            uow.keys.transition("k2", from_state=KeyState.CURRENT, to=key("k1"))
        uow.keys.delete("k1")
        with pytest.raises(NotFound):
            uow.keys.delete("k1")
    with store.unit_of_work() as uow:
        assert [k.kid for k in uow.keys.list()] == ["k2"]


def test_a_second_current_or_next_key_is_refused(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.keys.add(key("k1", KeyState.CURRENT))
        uow.keys.add(key("k2"))
    for state in (KeyState.CURRENT, KeyState.NEXT):
        with store.unit_of_work() as uow, pytest.raises(AlreadyExists):
            uow.keys.add(key("k3", state))
    with store.unit_of_work() as uow:
        with pytest.raises(Conflict):
            uow.keys.transition("k2", from_state=KeyState.NEXT, to=key("k2", KeyState.CURRENT))
        uow.keys.add(key("k4", KeyState.RETIRED))  # any number of retired keys
        assert len(uow.keys.list()) == 3


# --- units of work -------------------------------------------------------------------------


class Boom(Exception):
    pass


def add_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization())
        uow.flows.create(flow())
        raise Boom


def commit_then_fail(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization())
        uow.commit()
        uow.organizations.add(organization("org_b"))
        raise Boom


def rotate(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.keys.transition("k1", from_state=KeyState.CURRENT, to=key("k1", KeyState.RETIRED))
        uow.keys.transition("k2", from_state=KeyState.NEXT, to=key("k2", KeyState.CURRENT))


def test_unit_of_work_rolls_back_on_exception(store: Store) -> None:
    with pytest.raises(Boom):
        add_then_fail(store)
    with store.unit_of_work() as uow:
        assert uow.organizations.list() == []
        with pytest.raises(NotFound):
            uow.flows.get("flow-1", now=NOW)


def test_already_exists_does_not_poison_the_unit_of_work(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.organizations.add(organization())
        with pytest.raises(AlreadyExists):
            uow.organizations.add(organization())
        uow.organizations.add(organization("org_b"))
    with store.unit_of_work() as uow:
        assert [o.id for o in uow.organizations.list()] == ["org_a", "org_b"]


def test_commit_mid_way_survives_a_later_error(store: Store) -> None:
    with pytest.raises(Boom):
        commit_then_fail(store)
    with store.unit_of_work() as uow:
        assert [o.id for o in uow.organizations.list()] == ["org_a"]


def test_a_conflict_rolls_back_the_whole_unit_of_work(store: Store) -> None:
    """Rotation is several transitions; losing one must undo the others."""
    with store.unit_of_work() as uow:
        uow.keys.add(key("k1", KeyState.CURRENT))
    with pytest.raises(Conflict):
        rotate(store)
    with store.unit_of_work() as uow:
        assert [k.state for k in uow.keys.list()] == [KeyState.CURRENT]
