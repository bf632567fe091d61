"""Portal test logins: a real login through a connection (or its pending draft), whose
answer is verified exactly as a real one, and whose outcome is a report for the IT admin
instead of a code for an application.

    start(session, connection, use_draft)  -> the hand-off to the IdP (flow.test set)
    passed(flow, connection, identity)     -> report saved, redirect to the result page
    failed(flow, connection, error)        -> the same, with the reason and its facts

Nothing a test login does is visible to an application: no identity is recorded and no code
is issued, so an admin can test settings before any user depends on them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from broker.clock import Clock
from broker.http import AutoPost, Redirect
from broker.login.binding import BrowserBinding
from broker.login.trial_report import failed_report, passed_report
from broker.model.opaque import new_id, new_secret
from broker.model.portal import ConnectionTest, PortalSession, TrialLogin, config_digest
from broker.model.reasons import Reason
from broker.model.records import (
    AuditEvent,
    AuthorizationRequest,
    Connection,
    PendingAuthorization,
    UpstreamIdentity,
)
from broker.store import Store
from broker.upstream.base import CallbackInput, FlowContext, UpstreamError, UpstreamInvalid
from broker.upstream.registry import ConnectorCache

log = logging.getLogger(__name__)

#: The flow's stand-in request: never redeemed, since a test flow issues no code.
_TEST_CLIENT = "gatehouse-portal-test"


def tested_settings(connection: Connection, *, use_draft: bool) -> Connection:
    """The connection as the test sees it: its draft in place of its settings, if asked."""
    if not use_draft:
        return connection
    if connection.draft is None:
        raise ValueError("the connection has no draft to test")
    return replace(connection, config=connection.draft)


class TrialLogins:
    def __init__(
        self,
        *,
        store: Store,
        connectors: ConnectorCache,
        clock: Clock,
        binding: BrowserBinding,
        portal_url: str,
        flow_ttl: timedelta,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._clock = clock
        self._binding = binding
        self._portal_url = portal_url
        self._flow_ttl = flow_ttl

    def start(
        self,
        session: PortalSession,
        connection: Connection,
        *,
        use_draft: bool,
        cookies: Mapping[str, str],
        callback_url: str,
    ) -> Redirect | AutoPost:
        tested = tested_settings(connection, use_draft=use_draft)
        now = self._clock.now()
        flow = PendingAuthorization(
            id=new_secret(),
            request=AuthorizationRequest(
                client_id=_TEST_CLIENT,
                redirect_uri=f"{self._portal_url}/test",
                scope=("openid", "profile", "email"),
            ),
            created_at=now,
            expires_at=now + self._flow_ttl,
            connection_id=connection.id,
            test=TrialLogin(
                portal_session=session.id_hash,
                use_draft=use_draft,
                config_digest=config_digest(tested.config),
                portal_link=session.link_id,
            ),
        )
        connector = self._connectors.get_settings(tested)
        start = connector.begin_login(
            FlowContext(flow_id=flow.id, connection_id=connection.id, callback_url=callback_url)
        )
        binding_hash, cookie = self._binding.bind(cookies)
        with self._store.unit_of_work() as uow:
            uow.flows.create(
                replace(flow, connector_state=start.connector_state, browser_binding=binding_hash)
            )
        log.info("test login started connection=%s draft=%s", connection.id, use_draft)
        return replace(start.action, cookies=(*start.action.cookies, cookie))

    def complete(
        self,
        flow: PendingAuthorization,
        connection: Connection,
        answer: CallbackInput,
        context: FlowContext,
    ) -> Redirect:
        """The IdP's answer to a test login: verified exactly like a login's, then reported
        to the IT admin (passed, or why not). Settings changed since the test started are a
        failure of their own: the answer would otherwise be judged by settings it was not
        asked with."""
        assert flow.test is not None
        try:
            tested = tested_settings(connection, use_draft=flow.test.use_draft)
        except ValueError:
            tested = None
        if tested is None or config_digest(tested.config) != flow.test.config_digest:
            changed = UpstreamInvalid(
                Reason.SETTINGS_CHANGED, detail="the settings changed while the test was running"
            )
            return self.failed(flow, connection, changed)
        connector = self._connectors.get_settings(tested)
        try:
            upstream = connector.complete_login(context, answer)
        except UpstreamError as exc:
            return self.failed(flow, connection, exc)
        return self.passed(flow, connection, upstream)

    def passed(
        self, flow: PendingAuthorization, connection: Connection, identity: UpstreamIdentity
    ) -> Redirect:
        """A verified answer; it still fails if the organization's verified domains, once
        it has some, exclude the email (a real login would be refused: trial_report.py)."""
        with self._store.unit_of_work() as uow:
            domains = uow.domains.for_organization(connection.organization_id)
        reason, report = passed_report(
            identity, self._tested(flow, connection) or connection, domains
        )
        return self._record(flow, connection, passed=reason is None, reason=reason, report=report)

    def failed(
        self, flow: PendingAuthorization, connection: Connection, error: UpstreamError
    ) -> Redirect:
        report = failed_report(error, self._tested(flow, connection))
        return self._record(
            flow, connection, passed=False, reason=error.recorded_reason, report=report
        )

    def _tested(self, flow: PendingAuthorization, connection: Connection) -> Connection | None:
        assert flow.test is not None
        try:
            return tested_settings(connection, use_draft=flow.test.use_draft)
        except ValueError:
            return None  # the draft was dropped while the test ran

    def _record(
        self,
        flow: PendingAuthorization,
        connection: Connection,
        *,
        passed: bool,
        reason: str | None,
        report: dict[str, Any],
    ) -> Redirect:
        assert flow.test is not None
        now = self._clock.now()
        test = ConnectionTest(
            id=new_id("tst"),
            organization_id=connection.organization_id,
            connection_id=connection.id,
            config_digest=flow.test.config_digest,
            passed=passed,
            reason=reason,
            report={**report, "use_draft": flow.test.use_draft},
            created_at=now,
        )
        with self._store.unit_of_work() as uow:
            uow.flows.consume(flow.id, now=now)
            uow.connection_tests.add(test)
            uow.audit.record(
                AuditEvent(
                    at=now,
                    kind="connection.test_passed" if passed else "connection.test_failed",
                    reason=reason,
                    actor=_actor(flow.test),
                    organization_id=connection.organization_id,
                    connection_id=connection.id,
                    detail={"test_id": test.id, "draft": flow.test.use_draft},
                )
            )
        log.info("test login %s connection=%s", "passed" if passed else reason, connection.id)
        return Redirect(f"{self._portal_url}/tests/{test.id}", status=303)


def _actor(test: TrialLogin) -> str:
    """The portal link that started the test, as every change through it is recorded."""
    return f"portal_link:{test.portal_link}" if test.portal_link else "portal"
