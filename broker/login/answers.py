"""Taking an IdP's answer: the flow it is for, with its connector state, or why not.

One answer per hand-off, whatever its outcome (an OIDC `state` is single use, RFC 9700
§4.7; a SAML AuthnRequest is answered once). The flow row is locked while it is checked and
taken, so of concurrent answers exactly one gets it; an answer refused here leaves the flow
as it was. The checks, in order: the answer names a flow (no IdP-initiated login), the flow
was handed to this connection, from this browser, the connection is still on (turned off
while the person was at the IdP: the switch holds at once), and the hand-off is unanswered.
A connection turned off names the flow, so its client can be told; an answer already taken
does not: the answer that took it owns the request's one response.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import NoReturn

from broker import tracing
from broker.http import HttpRequest
from broker.login.binding import BrowserBinding
from broker.login.refusals import LoginRefused, refusal_page
from broker.metrics import recording as metrics
from broker.model.opaque import looks_like_id
from broker.model.reasons import Reason
from broker.model.records import Connection, PendingAuthorization
from broker.store import NotFound, Store, UnitOfWork

log = logging.getLogger(__name__)


def answer_for(
    store: Store,
    connection_id: str,
    flow_id: str | None,
    request: HttpRequest,
    *,
    unsolicited: bool,
    binding: BrowserBinding,
    now: datetime,
) -> tuple[Connection, PendingAuthorization | LoginRefused]:
    """The answer's connection (or the unknown-connection page), and its flow with the
    connector state taken (`take_answer`) or why not, in one unit of work (issue 18: not a
    transaction for the connection and another for the flow). A refusal is returned, not
    raised, so the caller records it with the connection's trail."""
    if not looks_like_id(connection_id):
        unknown_connection(connection_id)  # no transaction for a junk path segment
    with store.unit_of_work() as uow:
        connection = connection_or_none(uow, connection_id)
        if connection is None:
            unknown_connection(connection_id)
        try:
            taken = take_answer(
                uow, connection, flow_id, request, unsolicited=unsolicited, binding=binding, now=now
            )
        except LoginRefused as exc:
            return connection, exc  # nothing was written: take_answer refuses before
    return connection, taken


def unknown_connection(connection_id: str) -> NoReturn:
    """An unknown id (anyone can POST anything to `/saml/<junk>/acs`) is logged, capped and
    escaped, and leaves no row behind: there is no organization to tell."""
    log.warning("login refused reason=unknown_connection connection=%s", connection_id)
    metrics.login_refused(None, Reason.UNKNOWN_CONNECTION)
    tracing.refused(Reason.UNKNOWN_CONNECTION)
    raise refusal_page(Reason.UNKNOWN_CONNECTION, detail="no such connection")


def connection_or_none(uow: UnitOfWork, connection_id: str) -> Connection | None:
    if not looks_like_id(connection_id):
        return None  # refused before any lookup: a path segment of anything at all
    try:
        return uow.connections.get(connection_id)
    except NotFound:
        return None


def take_answer(
    uow: UnitOfWork,
    connection: Connection,
    flow_id: str | None,
    request: HttpRequest,
    *,
    unsolicited: bool,
    binding: BrowserBinding,
    now: datetime,
) -> PendingAuthorization:
    """The flow with its connector state taken; LoginRefused with the reason otherwise."""
    if unsolicited:
        raise LoginRefused(Reason.UNSOLICITED, "a SAMLResponse without RelayState")
    taken: list[bytes] = []

    def take(current: PendingAuthorization) -> PendingAuthorization:
        if current.connection_id != connection.id:
            raise LoginRefused(Reason.WRONG_CONNECTION, f"flow is for {current.connection_id}")
        if not binding.matches(request.cookies, current.browser_binding):
            raise LoginRefused(Reason.BROWSER_MISMATCH, "the binding cookie is missing or differs")
        if current.test is None and not connection.active:
            raise LoginRefused(
                Reason.CONNECTION_INACTIVE, "the connection was deactivated", flow=current
            )
        if not current.connector_state:
            raise LoginRefused(Reason.ANSWER_ALREADY_USED, "this hand-off was answered before")
        taken.append(current.connector_state)
        return replace(current, connector_state=b"")

    try:
        flow = uow.flows.update(lookup(flow_id), take, now=now)
    except NotFound as exc:
        raise LoginRefused(Reason.FLOW_EXPIRED, "flow absent, expired or used") from exc
    return replace(flow, connector_state=taken[0])


def lookup(identifier: str | None) -> str:
    """An id from a request as the store may see it: one that cannot be ours (a NUL in it,
    which PostgreSQL refuses) becomes "", which names nothing either."""
    return identifier if identifier is not None and looks_like_id(identifier) else ""
