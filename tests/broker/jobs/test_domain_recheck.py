"""The daily domain re-check against a real DNS server on loopback, on the injected clock:
a record removed starts the grace, restored within it clears it, gone past it unverifies
the domain (and it routes no login); DNS that does not answer changes nothing; a domain
the app team asserted is never looked up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from broker.jobs import domain_recheck
from broker.management.dns_txt import DnsTxtLookup
from broker.management.domains import dns_record
from broker.store import NotFound, Store
from tests.support.dns_server import Zone, dns_server, silent_nameserver
from tests.support.gatehouse import ACTOR, Gatehouse, build_gatehouse
from tests.support.harness import build_harness

DAY = timedelta(days=1)
NAME = "acme.example"
RECORD = f"_gatehouse-challenge.{NAME}"


@dataclass
class World:
    gatehouse: Gatehouse
    zone: Zone
    organization_id: str
    nameserver: str = ""

    def tick(self, days: int = 1) -> list[str]:
        """`days` pass; the scheduler runs what is due; the job's outcomes, by kind."""
        self.gatehouse.clock.advance(days * DAY)
        outcomes = self.gatehouse.broker.scheduler.run_due()
        return [o.summary for o in outcomes if o.name == domain_recheck.NAME]

    def events(self) -> list[tuple[str, str | None, object]]:
        with self.gatehouse.store.unit_of_work() as uow:
            found = uow.audit.list(organization_id=self.organization_id, kind=None)
        return [
            (e.kind, e.reason, e.detail.get("days_left"))
            for e in reversed(found)
            if e.actor == domain_recheck.ACTOR
        ]

    def routes(self) -> bool:
        """Whether logins for the domain route (routing finds verified names only)."""
        with self.gatehouse.store.unit_of_work() as uow:
            try:
                uow.domains.find_verified(NAME)
            except NotFound:
                return False
            return True


def verified_by_dns(gatehouse: Gatehouse, zone: Zone) -> str:
    organization = gatehouse.organization()
    domains = gatehouse.broker.management.domains
    claim = domains.add(ACTOR, organization.id, NAME)
    record = dns_record(claim)
    assert record is not None
    zone.publish(record.name, record.value)
    assert domains.verify(ACTOR, organization.id, NAME).failure is None
    return organization.id


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    with dns_server() as (zone, nameserver):
        gatehouse = build_gatehouse(store, tmp_path, dns=DnsTxtLookup(nameserver))
        yield World(gatehouse, zone, verified_by_dns(gatehouse, zone), nameserver)


def test_a_record_in_place_changes_nothing_day_after_day(world: World) -> None:
    for _ in range(3):
        assert world.tick() == ["{'ok': 1}"]
    assert world.events() == []
    assert world.routes()
    assert RECORD in world.zone.queries


def test_a_record_restored_within_the_grace_clears_it(world: World) -> None:
    published = world.zone.records.pop(RECORD)
    assert world.tick() == ["{'failing': 1}"]
    assert world.tick(3) == ["{'failing': 1}"]
    assert world.routes()  # the grace: logins still route
    world.zone.records[RECORD] = published
    assert world.tick() == ["{'restored': 1}"]
    assert world.tick() == ["{'ok': 1}"]
    assert world.events() == [
        ("domain.verification_failing", "record_not_found", 7),
        ("domain.verification_failing", "record_not_found", 4),
        ("domain.verification_restored", None, None),
    ]
    with world.gatehouse.store.unit_of_work() as uow:
        assert uow.domain_rechecks.get(world.organization_id, NAME) is None
    # A later disappearance starts a new grace, from its own first day.
    world.zone.records.pop(RECORD)
    world.tick()
    assert world.events()[-1] == ("domain.verification_failing", "record_not_found", 7)


def test_a_record_gone_past_the_grace_unverifies_the_domain(world: World) -> None:
    world.zone.publish(RECORD, "gatehouse-domain-verification=someone-elses-token")
    assert world.tick() == ["{'failing': 1}"]
    assert world.tick(6) == ["{'failing': 1}"]
    assert world.routes()  # six days in: still inside the seven-day grace
    assert world.tick() == ["{'unverified': 1}"]
    assert not world.routes()
    assert world.events() == [
        ("domain.verification_failing", "value_mismatch", 7),
        ("domain.verification_failing", "value_mismatch", 1),
        ("domain.unverified", "value_mismatch", None),
    ]
    with world.gatehouse.store.unit_of_work() as uow:
        claim = uow.domains.get(world.organization_id, NAME)
        assert (claim.verified_at, claim.verified_by) == (None, None)
        assert uow.domain_rechecks.get(world.organization_id, NAME) is None
    assert world.tick() == ["{}"]  # unverified: no longer re-checked, nothing more said
    assert len(world.events()) == 3


def test_the_grace_is_configurable(store: Store, tmp_path: Path) -> None:
    from broker.settings_jobs import JobSettings

    with dns_server() as (zone, nameserver):
        gatehouse = build_gatehouse(
            store, tmp_path, dns=DnsTxtLookup(nameserver),
            jobs=JobSettings(tick=timedelta(0), domain_grace=2 * DAY),
        )  # fmt: skip
        world = World(gatehouse, zone, verified_by_dns(gatehouse, zone))
        zone.records.pop(RECORD)
        assert world.tick() == ["{'failing': 1}"]
        assert world.tick(2) == ["{'unverified': 1}"]


def test_dns_that_does_not_answer_neither_starts_nor_ends_a_grace(
    store: Store, tmp_path: Path
) -> None:
    with dns_server() as (zone, nameserver), silent_nameserver() as silent:
        lookup = Switchable(DnsTxtLookup(nameserver))
        gatehouse = build_gatehouse(store, tmp_path, dns=lookup)
        world = World(gatehouse, zone, verified_by_dns(gatehouse, zone))
        zone.records.pop(RECORD)
        assert world.tick() == ["{'failing': 1}"]
        lookup.current = DnsTxtLookup(silent, lifetime=0.2)
        assert world.tick(10) == ["{'inconclusive': 1}"]
        assert world.routes()  # ten days of silence after the first miss: still verified
        lookup.current = DnsTxtLookup(nameserver)
        assert world.tick() == ["{'unverified': 1}"]  # the next real answer ends it


class Switchable:
    """A lookup whose resolver the test swaps (the customer's DNS goes quiet)."""

    def __init__(self, current: DnsTxtLookup) -> None:
        self.current = current

    def txt(self, name: str) -> list[str]:
        return self.current.txt(name)


def test_a_domain_the_app_team_asserted_is_never_looked_up(world: World) -> None:
    asserted = "asserted.example"
    world.gatehouse.verified_domain(world.organization_id, asserted)
    world.zone.records.pop(RECORD)
    for _ in range(10):
        world.tick()
    assert f"_gatehouse-challenge.{asserted}" not in world.zone.queries
    with world.gatehouse.store.unit_of_work() as uow:
        assert uow.domains.find_verified(asserted).verified_by == "operator_assertion"
    assert not world.routes()  # the DNS-verified one, gone ten days, was unverified


def test_a_domain_deleted_between_lookup_and_verdict_is_left_alone(world: World) -> None:
    job = world.gatehouse.broker.scheduler
    world.zone.records.pop(RECORD)
    with world.gatehouse.store.unit_of_work() as uow:
        claim = uow.domains.get(world.organization_id, NAME)
    world.gatehouse.broker.management.domains.delete(ACTOR, world.organization_id, NAME)
    recheck = domain_recheck.DomainRecheck(
        store=world.gatehouse.store, clock=world.gatehouse.clock,
        dns=DnsTxtLookup(world.nameserver),
        bulkheads=world.gatehouse.broker.bulkheads, grace=7 * DAY,
    )  # fmt: skip
    assert recheck.check(claim) == "gone"
    assert job.names == ("domain_recheck", "certificate_expiry", "saml_metadata_refresh")
    assert world.events() == []


def test_logins_stop_routing_once_the_grace_is_over(store: Store, tmp_path: Path) -> None:
    """End to end through /authorize: Acme's people are sent to their IdP while the record
    is missing but the grace lasts, and no longer after it."""
    with dns_server() as (zone, nameserver):
        harness = build_harness(store, tmp_path, dns=DnsTxtLookup(nameserver))
        with store.unit_of_work() as uow:
            claim = uow.domains.get(harness.acme.id, "acme.test")
            uow.domains.save(replace(claim, verification_token="t0ken", verified_by="dns"))
            record = dns_record(uow.domains.get(harness.acme.id, "acme.test"))
        assert record is not None

        def sent_to_idp() -> bool:
            answer = harness.authorize(harness.new_login(login_hint="ann@acme.test"))
            return answer.is_redirect and answer.headers["location"].startswith("https://idp.test")

        assert sent_to_idp()
        harness.clock.advance(DAY)
        harness.broker.scheduler.run_due()  # the record was never published: failing
        harness.clock.advance(6 * DAY)
        harness.broker.scheduler.run_due()
        assert sent_to_idp()  # six days into the grace
        harness.clock.advance(DAY)
        harness.broker.scheduler.run_due()
        assert not sent_to_idp()
        zone.publish(record.name, record.value)  # too late: verifying again is the way back
        harness.clock.advance(DAY)
        harness.broker.scheduler.run_due()
        assert not sent_to_idp()


def test_a_domain_whose_verification_events_were_purged_is_still_re_checked(
    world: World,
) -> None:
    """The job reads the domain rows (`verified_by`, the token), not the audit log: a
    domain verified longer ago than the events' retention is re-checked all the same
    (review of issue 16, finding 7)."""
    now = world.gatehouse.clock.now()
    with world.gatehouse.store.unit_of_work() as uow:
        assert uow.audit.list(organization_id=world.organization_id, kind="domain.verified")
        uow.audit.purge_before(now, limit=10_000)
        assert uow.audit.list(organization_id=world.organization_id) == []
    world.zone.records.pop(RECORD)
    assert world.tick() == ["{'failing': 1}"]
    assert world.tick(7) == ["{'unverified': 1}"]
    assert not world.routes()
