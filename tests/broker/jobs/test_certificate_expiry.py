"""Expiry notices for trusted SAML signing certificates, on the injected clock: one event
at 30, 7 and 1 days before the end of each certificate, never repeated, whoever runs it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from broker.jobs import certificate_expiry
from broker.jobs.certificate_expiry import CertificateExpiry, thresholds_reached
from broker.store import Store
from tests.support.certificates import certificate_pem, fingerprint, idp_metadata
from tests.support.gatehouse import Gatehouse, build_gatehouse
from tests.support.saml_world import CONNECTION_ID, ORG_ID, add_saml_connection

DAY = timedelta(days=1)


@pytest.fixture
def gatehouse(store: Store, tmp_path: Path) -> Gatehouse:
    return build_gatehouse(store, tmp_path)


def trust(gatehouse: Gatehouse, *certificates: str) -> None:
    metadata = idp_metadata("https://idp.example/saml", "https://idp.example/sso", *certificates)
    add_saml_connection(gatehouse.store, idp_metadata=metadata, now=gatehouse.clock.now())


def expiring_in(gatehouse: Gatehouse, delta: timedelta, name: str = "IdP signing") -> str:
    return certificate_pem(not_after=gatehouse.clock.now() + delta, common_name=name)


def notices(gatehouse: Gatehouse) -> list[tuple[str, object, object]]:
    with gatehouse.store.unit_of_work() as uow:
        found = uow.audit.list(kind="connection.certificate_expiring")
    for event in found:
        assert (event.organization_id, event.connection_id) == (ORG_ID, CONNECTION_ID)
        assert event.actor == certificate_expiry.ACTOR
    return [
        (str(e.detail["subject"]), e.detail["threshold_days"], e.detail["days_left"])
        for e in reversed(found)
    ]


def day_by_day(gatehouse: Gatehouse, days: int) -> None:
    for _ in range(days):
        gatehouse.clock.advance(DAY)
        gatehouse.broker.scheduler.run_due()


@pytest.mark.parametrize(
    ("days_left", "reached"),
    [(31, ()), (30, (30,)), (8, (30,)), (7, (30, 7)), (1.5, (30, 7)), (1, (30, 7, 1)),
     (-3, (30, 7, 1))],
)  # fmt: skip
def test_thresholds_reached(days_left: float, reached: tuple[int, ...]) -> None:
    assert thresholds_reached(days_left) == reached


def test_a_certificate_gets_one_notice_at_30_7_and_1_days(gatehouse: Gatehouse) -> None:
    trust(gatehouse, expiring_in(gatehouse, 40 * DAY))
    day_by_day(gatehouse, 45)
    assert notices(gatehouse) == [
        ("CN=IdP signing", 30, 30),
        ("CN=IdP signing", 7, 7),
        ("CN=IdP signing", 1, 1),
    ]


def test_a_certificate_first_seen_late_gets_only_the_nearest_notice(gatehouse: Gatehouse) -> None:
    trust(gatehouse, expiring_in(gatehouse, 5 * DAY + timedelta(hours=1)))
    gatehouse.broker.scheduler.run_due()
    assert notices(gatehouse) == [("CN=IdP signing", 7, 5)]
    day_by_day(gatehouse, 10)  # daily ticks: the first inside the last day has 1 h left
    assert notices(gatehouse) == [("CN=IdP signing", 7, 5), ("CN=IdP signing", 1, 0)]


def test_each_certificate_of_a_rollover_is_noticed_on_its_own(gatehouse: Gatehouse) -> None:
    old = expiring_in(gatehouse, 20 * DAY, "old")
    trust(gatehouse, old, expiring_in(gatehouse, 400 * DAY, "new"))
    gatehouse.broker.scheduler.run_due()
    assert notices(gatehouse) == [("CN=old", 30, 20)]
    with gatehouse.store.unit_of_work() as uow:
        [event] = uow.audit.list(kind="connection.certificate_expiring")
    assert event.detail["sha256_fingerprint"] == fingerprint(old)
    assert event.detail["not_after"] == (gatehouse.clock.now() + 20 * DAY).isoformat()


def test_a_notice_is_never_repeated_even_by_runs_outside_the_schedule(
    gatehouse: Gatehouse,
) -> None:
    """Two runners at once (a lease that ran out) or by hand: the notice rows guard the
    events, not the schedule."""
    trust(gatehouse, expiring_in(gatehouse, 6 * DAY))
    job = CertificateExpiry(store=gatehouse.store, clock=gatehouse.clock)
    assert job.run(lambda: False) == {"7": 1}
    assert job.run(lambda: False) == {}
    assert len(notices(gatehouse)) == 1


def test_certificates_far_from_their_end_and_oidc_connections_get_nothing(
    gatehouse: Gatehouse,
) -> None:
    trust(gatehouse, expiring_in(gatehouse, 31 * DAY))
    organization = gatehouse.organization("Other")
    with gatehouse.store.unit_of_work() as uow:
        assert [c.kind for c in uow.connections.for_organization(organization.id)] == []
    assert CertificateExpiry(store=gatehouse.store, clock=gatehouse.clock).run(lambda: False) == {}
    assert notices(gatehouse) == []


def test_a_run_told_to_stop_says_nothing_more(gatehouse: Gatehouse) -> None:
    trust(gatehouse, expiring_in(gatehouse, 6 * DAY))
    assert CertificateExpiry(store=gatehouse.store, clock=gatehouse.clock).run(lambda: True) == {}
    assert notices(gatehouse) == []
