"""Rows of every kind the purge deletes, written through the store's own repositories, each
ending at an instant the test chooses: the purge tests' raw material.

`add_tenant` writes what the portal rows hang on (an organization, its connection, a live
link, a kept test result). `add_dead_rows` writes `count` rows of every kind, all dead at a
given `now`, as a flood of traffic would leave them, and so that none is deleted by another
row's cascade: dead tokens hang off a live code, dead sessions off the live link, dead
links and codes have nothing under them. Each row is then deleted by its own table's purge,
so purge counts can be compared with what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from broker.model.management import PortalLink
from broker.model.portal import ConnectionTest, PortalSession
from broker.model.records import (
    AccessToken,
    AuditEvent,
    AuthorizationCode,
    AuthorizationRequest,
    Connection,
    Organization,
    PendingAuthorization,
)
from broker.model.webhooks import DELIVERED, WebhookDelivery, WebhookEndpoint
from broker.settings_retention import RetentionSettings
from broker.store import Store, UnitOfWork
from broker.store.purge import PurgeCounts
from broker.store.sql import SqlStore

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
TICK = timedelta(microseconds=1)
RETENTION = RetentionSettings()
IDLE = timedelta(minutes=30)
ORG = "org_p"
CON = "con_p"
LIVE_LINK = "pl_live"
LIVE_CODE = "code-live"
LONG_AGO = NOW - timedelta(days=3650)
WEBHOOK_ENDPOINT = "whe_p"
LIVE_EVENT = "evt-live"


def flow(flow_id: str, *, expires_at: datetime) -> PendingAuthorization:
    request = AuthorizationRequest(
        client_id="rp", redirect_uri="https://rp.test/cb", scope=("openid",), state="s"
    )
    return PendingAuthorization(
        id=flow_id, request=request, created_at=expires_at - IDLE, expires_at=expires_at
    )


def code(code_hash: str, *, expires_at: datetime) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=code_hash,
        client_id="rp",
        redirect_uri="https://rp.test/cb",
        scope=("openid",),
        nonce=None,
        code_challenge=None,
        code_challenge_method=None,
        claims={"sub": "usr_1"},
        auth_time=expires_at - IDLE,
        issued_at=expires_at - IDLE,
        expires_at=expires_at,
    )


def token(token_hash: str, code_hash: str, *, expires_at: datetime) -> AccessToken:
    return AccessToken(
        token_hash=token_hash,
        code_hash=code_hash,
        client_id="rp",
        scope=("openid",),
        claims={"sub": "usr_1"},
        issued_at=expires_at - IDLE,
        expires_at=expires_at,
    )


def link(link_id: str, *, expires_at: datetime, revoked_at: datetime | None = None) -> PortalLink:
    return PortalLink(
        id=link_id,
        organization_id=ORG,
        token_hash=f"hash-{link_id}",
        profile_id=None,
        connection_id=None,
        enabled_features=("sso",),
        max_uses=1,
        expires_at=expires_at,
        revoked_at=revoked_at,
        created_at=LONG_AGO,
        created_by="cli",
    )


def session(
    id_hash: str, *, link_id: str = LIVE_LINK, expires_at: datetime, last_seen_at: datetime
) -> PortalSession:
    return PortalSession(
        id_hash=id_hash,
        organization_id=ORG,
        link_id=link_id,
        features=("sso",),
        connection_id=None,
        profile_id=None,
        csrf_token=f"csrf-{id_hash}",
        created_at=min(last_seen_at, expires_at - IDLE),
        last_seen_at=last_seen_at,
        expires_at=expires_at,
    )


def result(
    test_id: str, *, at: datetime, passed: bool = False, digest: str = "d1", con: str = CON
) -> ConnectionTest:
    return ConnectionTest(
        id=test_id,
        organization_id=ORG,
        connection_id=con,
        config_digest=digest,
        passed=passed,
        reason=None if passed else "wrong_audience",
        report={"diagnosis": []},
        created_at=at,
    )


def event(event_id: str, *, at: datetime) -> AuditEvent:
    return AuditEvent(
        id=event_id,
        at=at,
        kind="login.failed",
        reason="unknown_connection",
        connection_id="con_nonexistent",
        detail={"detail": "no such connection"},
    )


def add_tenant(store: Store, *, now: datetime = NOW) -> None:
    """The organization, connection, live link and newest (kept) test result the portal
    rows of `add_dead_rows` belong to, and a live code for its tokens."""
    with store.unit_of_work() as uow:
        uow.organizations.add(Organization(id=ORG, name="Purged Org", created_at=LONG_AGO))
        uow.connections.add(
            Connection(
                id=CON,
                organization_id=ORG,
                kind="oidc",
                name="IdP",
                config={"issuer": "https://idp.test"},
                created_at=LONG_AGO,
            )
        )
        uow.portal_links.add(link(LIVE_LINK, expires_at=now + timedelta(days=1)))
        uow.connection_tests.add(result("tst-newest", at=now, passed=True))
        uow.codes.add(code(LIVE_CODE, expires_at=now + timedelta(days=1)))
        uow.webhook_endpoints.add(endpoint(WEBHOOK_ENDPOINT))
        uow.audit.record(event(LIVE_EVENT, at=now))


def endpoint(endpoint_id: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=endpoint_id, url="https://hooks.example/in", event_types=("*",),
        organization_id=None, enabled=True, secret_encrypted=b"sealed",
        previous_secret_encrypted=None, previous_secret_expires_at=None, failing_since=None,
        disabled_reason=None, created_at=LONG_AGO, updated_at=LONG_AGO, created_by="cli",
    )  # fmt: skip


def delivered(delivery_id: str, *, finished_at: datetime) -> WebhookDelivery:
    """A delivery of the live event that ended at `finished_at`."""
    return WebhookDelivery(
        id=delivery_id, endpoint_id=WEBHOOK_ENDPOINT, event_id=LIVE_EVENT, status=DELIVERED,
        attempts=1, next_attempt_at=LONG_AGO, created_at=LONG_AGO, finished_at=finished_at,
        manual=False,
    )  # fmt: skip


def add_dead_rows(store: Store, count: int, *, now: datetime = NOW, prefix: str = "x") -> None:
    """`count` rows of every kind the purge deletes, each dead at `now` exactly (the last
    instant that counts as dead), in one unit of work per kind."""
    ids = [f"{prefix}-{n:06d}" for n in range(count)]
    gone_links = now - RETENTION.portal_link_retention
    old_tests = now - RETENTION.connection_test_retention
    old_events = now - RETENTION.audit_retention
    old_deliveries = now - RETENTION.webhook_delivery_retention
    writes: list[Callable[[UnitOfWork, str], object]] = [
        lambda uow, i: uow.flows.create(flow(f"flow-{i}", expires_at=now)),
        lambda uow, i: uow.access_tokens.add(token(f"tok-{i}", LIVE_CODE, expires_at=now)),
        lambda uow, i: uow.codes.add(code(f"code-{i}", expires_at=now)),
        lambda uow, i: uow.replays.remember("saml:idp", f"_id-{i}", expires_at=now, now=LONG_AGO),
        lambda uow, i: uow.idempotency.begin(
            "mc_1", f"key-{i}", request_hash="rh", now=LONG_AGO, expires_at=now
        ),
        lambda uow, i: uow.rate_limits.hit(f"ip:{i}", window_start=now - timedelta(hours=1)),
        lambda uow, i: uow.portal_sessions.add(
            session(f"sh-{i}", expires_at=now, last_seen_at=now - timedelta(minutes=1))
        ),
        lambda uow, i: uow.portal_links.add(link(f"pl-{i}", expires_at=gone_links)),
        lambda uow, i: uow.connection_tests.add(result(f"tst-{i}", at=old_tests)),
        lambda uow, i: uow.webhook_deliveries.add(
            [delivered(f"whd-{i}", finished_at=old_deliveries)]
        ),
        lambda uow, i: uow.audit.record(event(f"evt-{i}", at=old_events)),
    ]
    assert len(writes) == len(PurgeCounts().as_dict())
    for write in writes:
        with store.unit_of_work() as uow:
            for i in ids:
                write(uow, i)


def row_counts(store: SqlStore) -> dict[str, int]:
    """Rows per table the purge touches, read with SQL (not through the repositories)."""
    counts = {}
    with store.engine.connect() as connection:
        for table in PurgeCounts().as_dict():
            counts[table] = connection.execute(
                sa.text(f"SELECT count(*) FROM {table}")  # noqa: S608 - our table names
            ).scalar_one()
    return counts
