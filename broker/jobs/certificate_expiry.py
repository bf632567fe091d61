"""Expiry notices for the IdP signing certificates a SAML connection trusts.

An IdP certificate that expires unnoticed breaks every sign-in of that organization on the
day it does (the "2 a.m. rotation" of DESIGN.md). The portal shows it to an admin who
looks; this job tells the app, which can tell the customer: at 30, 7 and 1 days before a
trusted certificate's `notAfter`, one `connection.certificate_expiring` event per
threshold per certificate, ever (the `certificate_notices` row and the event share a unit
of work; the row's primary key makes a repeat impossible, even from two runners).

A certificate first seen closer to its end than a threshold (a connection set up with a
certificate due in five days) gets only the nearest notice (7 days, `days_left` 5): the
wider ones are marked given, since "expires in 30 days" would be wrong. One already
expired is noticed once too, at the 1-day threshold with a negative `days_left`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from broker.clock import Clock
from broker.jobs.scheduler import Stop
from broker.management.connection_drafts import certificate_list
from broker.management.connection_view import CertificateView, certificate_view
from broker.model.records import AuditEvent, Connection
from broker.store import Store, UnitOfWork

NAME = "certificate_expiry"
ACTOR = f"job:{NAME}"
#: Days before `notAfter` at which a notice is given, widest first.
THRESHOLDS = (30, 7, 1)


def thresholds_reached(days_left: float) -> tuple[int, ...]:
    """The thresholds a certificate `days_left` from expiry has reached, widest first."""
    return tuple(t for t in THRESHOLDS if days_left <= t)


class CertificateExpiry:
    def __init__(self, *, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def run(self, stop: Stop) -> dict[str, int]:
        """Notices given this run, by threshold (`30`, `7`, `1`)."""
        with self._store.unit_of_work() as uow:
            organizations = [o.id for o in uow.organizations.list()]
        given: Counter[str] = Counter()
        for organization_id in organizations:
            if stop():
                break
            with self._store.unit_of_work() as uow:
                for connection in uow.connections.for_organization(organization_id):
                    for threshold in self._notify(uow, connection, self._clock.now()):
                        given[str(threshold)] += 1
        return dict(given)

    def _notify(self, uow: UnitOfWork, connection: Connection, now: datetime) -> list[int]:
        given = []
        for pem in certificate_list(connection.config):
            try:
                view = certificate_view(pem)
            except ValueError:  # stored configs were parsed on save; never fail the run
                continue
            days_left = (view.not_after - now).total_seconds() / 86_400
            reached = thresholds_reached(days_left)
            if not reached:
                continue
            fingerprint = view.sha256_fingerprint
            new = [
                t for t in reached
                if uow.certificate_notices.note(connection.id, fingerprint, t, now=now)
            ]  # fmt: skip
            # The nearest threshold reached, if not given before, is the one to say.
            if reached[-1] in new:
                self._record(uow, connection, view, reached[-1], now)
                given.append(reached[-1])
        return given

    @staticmethod
    def _record(
        uow: UnitOfWork, connection: Connection, view: CertificateView, threshold: int,
        now: datetime,
    ) -> None:  # fmt: skip
        uow.audit.record(
            AuditEvent(
                at=now,
                kind="connection.certificate_expiring",
                actor=ACTOR,
                organization_id=connection.organization_id,
                connection_id=connection.id,
                detail={
                    "threshold_days": threshold,
                    "days_left": (view.not_after - now).days,
                    "not_after": view.not_after.isoformat(),
                    "subject": view.subject,
                    "sha256_fingerprint": view.sha256_fingerprint,
                    "connection_active": connection.active,
                },
            )
        )
