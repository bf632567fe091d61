"""A verified login's end: the organization's rules, its directory's verdict, then one
transaction that consumes the flow, records the identity and the audit event, and issues
the code."""

from __future__ import annotations

import logging
from datetime import datetime

from broker import tracing
from broker.http import Redirect
from broker.login.directory_access import directory_access
from broker.login.refusals import LoginRefused
from broker.login.trail import LoginTrail
from broker.metrics import recording as metrics
from broker.model.claims import build_claims
from broker.model.login_policy import first_refusal
from broker.model.opaque import new_id
from broker.model.reasons import Reason
from broker.model.records import Connection, PendingAuthorization, UpstreamIdentity
from broker.oidc.provider import Provider
from broker.store import NotFound, Store

log = logging.getLogger(__name__)


def finish_login(
    store: Store,
    provider: Provider,
    flow: PendingAuthorization,
    connection: Connection,
    upstream: UpstreamIdentity,
    trail: LoginTrail,
    *,
    now: datetime,
) -> Redirect:
    """Policy (the organization's rules, then its directory's verdict), then one
    transaction: consume the flow, record the identity and the audit event, issue the
    code. A refusal (LoginRefused) rolls all of it back (no half-written state)."""
    with store.unit_of_work() as uow:
        try:
            organization = uow.organizations.get(connection.organization_id)
        except NotFound as exc:
            raise LoginRefused(Reason.UNKNOWN_CONNECTION, "organization deleted") from exc
        verified = [d.name for d in uow.domains.for_organization(organization.id) if d.is_verified]
        refusal = first_refusal(upstream, verified)
        if refusal is not None:
            raise LoginRefused(refusal.reason, f"{refusal.detail} for {organization.id}")
        directory = directory_access(uow, organization.id, upstream)
        try:
            consumed = uow.flows.consume(flow.id, now=now)
        except NotFound as exc:
            raise LoginRefused(Reason.FLOW_EXPIRED, "consumed by a concurrent answer") from exc
        identity = uow.identities.record_login(
            organization_id=organization.id,
            connection_id=connection.id,
            idp_subject=upstream.subject,
            email=upstream.email,
            new_id=new_id("usr"),
            now=now,
        )
        claims = build_claims(
            identity=identity,
            upstream=upstream,
            organization=organization,
            connection=connection,
            verified_domains=verified,
            scope=consumed.request.scope,
            directory_claims=directory.claims,
        )
        # The IdP's own authentication instant when it tells us (it may have had a session),
        # never later than now.
        auth_time = min(upstream.auth_time or now, now)
        redirect = provider.finish(
            uow, consumed, claims, auth_time=auth_time, directory_user_id=directory.user_id
        )
        uow.audit.record(
            trail.event("login.succeeded", None, now=now, detail={"user_id": identity.id})
        )
    log.info("login complete connection=%s sub=%s", connection.id, identity.id)
    metrics.login_succeeded(connection.kind)
    tracing.succeeded()
    return redirect
