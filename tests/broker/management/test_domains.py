"""`/api/v1/organizations/{id}/domains`: claims, DNS verification against a real DNS server
on loopback, and the rules of docs/security.md (D-01, D-04, D-05, D-07)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest

from broker.management.dns_txt import DnsTxtLookup, parse_nameserver
from broker.settings import UpstreamSettings
from broker.store import NotFound, Store
from tests.support.dns_server import Zone, dns_server, silent_nameserver
from tests.support.management_api import ApiWorld, build_api_world


@pytest.fixture
def zone_world(store: Store, tmp_path: Path) -> Iterator[tuple[ApiWorld, Zone]]:
    with dns_server() as (zone, nameserver):
        api_world = build_api_world(store, tmp_path, dns=DnsTxtLookup(nameserver))
        with api_world.http:
            yield api_world, zone


def organization(world: ApiWorld, name: str = "Acme") -> str:
    world.clock.advance(timedelta(seconds=1))
    response = world.admin().post("/organizations", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def claim(world: ApiWorld, org: str, name: str) -> dict[str, object]:
    response = world.admin().post(f"/organizations/{org}/domains", json={"name": name})
    assert response.status_code == 201, response.text
    claimed: dict[str, object] = response.json()
    return claimed


def events(world: ApiWorld, org: str) -> list[tuple[str, str | None]]:
    with world.store.unit_of_work() as uow:
        return [(e.kind, e.reason) for e in uow.audit.list(organization_id=org)]


def test_a_claim_answers_the_txt_record_to_publish(world: ApiWorld) -> None:
    org = organization(world)
    claimed = claim(world, org, "  Bücher.Example. ")
    assert claimed["name"] == "xn--bcher-kva.example"  # D-05, D-07: one A-label
    assert claimed["verified"] is False
    record = claimed["verification"]
    assert isinstance(record, dict)
    assert record["type"] == "TXT"
    assert record["name"] == "_gatehouse-challenge.xn--bcher-kva.example"
    assert record["value"].startswith("gatehouse-domain-verification=")
    assert len(record["value"]) > 60  # 256 random bits
    listed = world.admin().get(f"/organizations/{org}/domains").json()["items"]
    assert listed == [claimed]
    with world.store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.domains.find_verified("xn--bcher-kva.example")  # D-01: a claim routes nothing


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("com", "single label"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("gmail.com", "free email provider"),
        ("Outlook.COM", "free email provider"),
        ("ex\u0430mple.com", "xn--exmple-4nf.com (shown as ex\u0430mple.com) mixes Latin and"),
        ("\u0430\u0440\u0440\u04cf\u0435.com", "xn--80ak6aa92e.com (shown as"),
        ("not a domain", ""),
        ("a..b", ""),
    ],
)
def test_shared_and_malformed_names_cannot_be_claimed(
    world: ApiWorld, name: str, message: str
) -> None:
    org = organization(world)
    response = world.admin().post(f"/organizations/{org}/domains", json={"name": name})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["pointer"] == "/name"
    assert message in error["detail"]


def test_the_published_record_verifies_the_claim(zone_world: tuple[ApiWorld, Zone]) -> None:
    world, zone = zone_world
    org = organization(world)
    record = claim(world, org, "acme.test")["verification"]
    assert isinstance(record, dict)
    zone.publish(record["name"], "v=spf1 -all", record["value"])
    response = world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["status"] == "verified"
    assert outcome["domain"]["verified"] is True
    assert outcome["domain"]["verification"] is None
    assert zone.queries == ["_gatehouse-challenge.acme.test"]
    with world.store.unit_of_work() as uow:
        assert uow.domains.find_verified("acme.test").organization_id == org
    assert ("domain.verified", "dns") in events(world, org)


def test_checks_of_one_organization_share_a_bulkhead(zone_world: tuple[ApiWorld, Zone]) -> None:
    """Its DNS is the customer's: while the organization's earlier checks hold every slot
    (a DNS server that does not answer), the next one fails at once as a timeout, and the
    check after them works."""
    world, zone = zone_world
    org = organization(world)
    record = claim(world, org, "acme.test")["verification"]
    assert isinstance(record, dict)
    zone.publish(record["name"], record["value"])
    with ExitStack() as held:
        for _ in range(UpstreamSettings().max_in_flight):
            held.enter_context(world.broker.bulkheads.slot(f"setup:{org}", breaker=False))
        response = world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "failed"
        assert ("domain.verification_failed", "timeout") in events(world, org)
        assert zone.queries == []
    response = world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
    assert response.json()["status"] == "verified"


@pytest.mark.parametrize(
    ("published", "reason"),
    [(None, "record_not_found"), ("gatehouse-domain-verification=someone-else", "value_mismatch")],
)
def test_a_missing_or_wrong_record_fails_with_its_reason(
    zone_world: tuple[ApiWorld, Zone], published: str | None, reason: str
) -> None:
    world, zone = zone_world
    org = organization(world)
    claim(world, org, "acme.test")
    if published is not None:
        zone.publish("_gatehouse-challenge.acme.test", published)
    outcome = world.admin().post(f"/organizations/{org}/domains/acme.test/verify").json()
    assert outcome["status"] == "failed"
    assert outcome["reason"] == reason
    assert outcome["domain"]["verified"] is False
    assert ("domain.verification_failed", reason) in events(world, org)


@pytest.mark.parametrize(
    "published",
    [
        "gatehouse-domain-verification=é",
        b"gatehouse-domain-verification=\xff\xfe",  # not UTF-8
        b"\x00\x01\x7f",
        "\u2028",
    ],
)
def test_a_record_with_bytes_that_are_not_ascii_is_a_mismatch(
    zone_world: tuple[ApiWorld, Zone], published: str | bytes
) -> None:
    """TXT strings are bytes (RFC 1035 §3.3.14); they were compared as text, and
    `hmac.compare_digest` raises on a str that is not ASCII: a 500, with no event."""
    world, zone = zone_world
    org = organization(world)
    record = claim(world, org, "acme.test")["verification"]
    assert isinstance(record, dict)
    zone.publish(record["name"], published)
    response = world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == "value_mismatch"
    assert ("domain.verification_failed", "value_mismatch") in events(world, org)
    zone.publish(record["name"], published, record["value"])  # beside the right one: fine
    verified = world.admin().post(f"/organizations/{org}/domains/acme.test/verify").json()
    assert verified["status"] == "verified"


def test_a_resolver_that_does_not_answer_is_a_timeout(store: Store, tmp_path: Path) -> None:
    with silent_nameserver() as nameserver:
        world = build_api_world(store, tmp_path, dns=DnsTxtLookup(nameserver, lifetime=0.5))
        with world.http:
            org = organization(world)
            claim(world, org, "acme.test")
            outcome = world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
    assert outcome.json()["reason"] == "timeout"


def test_a_name_is_verified_by_one_organization_only(zone_world: tuple[ApiWorld, Zone]) -> None:
    """D-01: both may claim (a claim squats nothing), one verifies; the other then cannot,
    even with its own record published, and cannot claim it anew."""
    world, zone = zone_world
    first, second = organization(world, "First"), organization(world, "Second")
    for org in (first, second):
        record = claim(world, org, "shared.test")["verification"]
        assert isinstance(record, dict)
        zone.records.setdefault(record["name"], []).append(record["value"])
    won = world.admin().post(f"/organizations/{first}/domains/shared.test/verify").json()
    assert won["status"] == "verified"
    lost = world.admin().post(f"/organizations/{second}/domains/shared.test/verify").json()
    assert lost["status"] == "failed"
    assert lost["reason"] == "verified_by_another_organization"
    third = organization(world, "Third")
    refused = world.admin().post(f"/organizations/{third}/domains", json={"name": "shared.test"})
    assert refused.status_code == 409


def test_one_organizations_record_does_not_verify_anothers_claim(
    zone_world: tuple[ApiWorld, Zone],
) -> None:
    world, zone = zone_world
    mallory, victim = organization(world, "Mallory"), organization(world, "Victim")
    victims = claim(world, victim, "victim.test")["verification"]
    claim(world, mallory, "victim.test")
    assert isinstance(victims, dict)
    zone.publish(victims["name"], victims["value"])
    outcome = world.admin().post(f"/organizations/{mallory}/domains/victim.test/verify").json()
    assert outcome["reason"] == "value_mismatch"


def test_releasing_a_domain_stops_routing(zone_world: tuple[ApiWorld, Zone]) -> None:
    world, zone = zone_world
    org = organization(world)
    record = claim(world, org, "acme.test")["verification"]
    assert isinstance(record, dict)
    zone.publish(record["name"], record["value"])
    world.admin().post(f"/organizations/{org}/domains/acme.test/verify")
    assert world.admin().delete(f"/organizations/{org}/domains/acme.test").status_code == 204
    with world.store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.domains.find_verified("acme.test")
    assert world.admin().get(f"/organizations/{org}/domains/acme.test").status_code == 404


def test_another_organizations_domain_is_not_found_like_an_absent_one(world: ApiWorld) -> None:
    """M-01: under organization B's path, A's domain is exactly as absent as a made-up one."""
    a, b = organization(world, "A"), organization(world, "B")
    claim(world, a, "a.test")
    admin = world.admin()
    for method, suffix in [("GET", ""), ("DELETE", ""), ("POST", "/verify")]:
        foreign = admin.request(method, f"/organizations/{b}/domains/a.test{suffix}")
        absent = admin.request(method, f"/organizations/{b}/domains/none.test{suffix}")
        assert foreign.status_code == absent.status_code == 404
        assert _without_instance(foreign.json()) == _without_instance(absent.json()) | {
            "detail": foreign.json()["detail"]
        }
    assert admin.get(f"/organizations/{a}/domains/a.test").status_code == 200


def _without_instance(problem: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in problem.items() if k != "instance"}


@pytest.mark.parametrize(
    "text", ["127.0.0.1:²", "127.0.0.1:99999", "127.0.0.1:0", ":53", "[::1]:x"]
)
def test_a_resolver_address_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a resolver address"):
        parse_nameserver(text)


def test_a_resolver_address_reads_host_and_port() -> None:
    assert parse_nameserver("[::1]:5353") == ("::1", 5353)
    assert parse_nameserver("10.0.0.2") == ("10.0.0.2", 53)


# -- an operator's assertion (domains:assert) ---------------------------------------------


def test_a_client_granted_domains_assert_verifies_without_dns(world: ApiWorld) -> None:
    """The API's `domains verify --operator`: no TXT record, audited with the caller as the
    actor and the assertion as the reason."""
    org = organization(world)
    claim(world, org, "acme.test")
    operator = world.caller("domains:assert", name="operator")
    response = operator.post(f"/organizations/{org}/domains/acme.test/assert-verified")
    assert response.status_code == 200, response.text
    asserted = response.json()
    assert (asserted["name"], asserted["verified"], asserted["verification"]) == (
        "acme.test", True, None,
    )  # fmt: skip
    assert asserted["verified_at"] is not None
    with world.store.unit_of_work() as uow:
        assert uow.domains.find_verified("acme.test").organization_id == org
        verified = [e for e in uow.audit.list(organization_id=org) if e.kind == "domain.verified"]
    assert [(e.actor, e.reason) for e in verified] == [
        (f"management_client:{operator.client_id}", "operator_assertion")
    ]
    again = operator.post(f"/organizations/{org}/domains/acme.test/assert-verified")
    assert again.json() == asserted  # already verified: nothing more is recorded
    assert events(world, org).count(("domain.verified", "operator_assertion")) == 1


def test_asserting_needs_its_own_scope_which_no_default_grant_carries(world: ApiWorld) -> None:
    """A client made without naming `domains:assert` (here: every ordinary scope, as the
    admin and the demo's backend have) gets 403 naming it, and nothing changes."""
    org = organization(world)
    claim(world, org, "acme.test")
    response = world.admin().post(f"/organizations/{org}/domains/acme.test/assert-verified")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["scope"] == "domains:assert"
    assert "domains:assert" not in world.admin().scopes
    got = world.admin().get(f"/organizations/{org}/domains/acme.test").json()
    assert got["verified"] is False
    assert ("domain.verified", "operator_assertion") not in events(world, org)


def test_an_assertion_cannot_take_another_organizations_domain(world: ApiWorld) -> None:
    """D-01 holds for the assertion too: 409 once another organization verified the name;
    404 for a name this organization has not claimed."""
    first, second = organization(world, "First"), organization(world, "Second")
    operator = world.caller("domains:assert", name="operator")
    for org in (first, second):
        claim(world, org, "shared.test")
    won = operator.post(f"/organizations/{first}/domains/shared.test/assert-verified")
    assert won.status_code == 200
    lost = operator.post(f"/organizations/{second}/domains/shared.test/assert-verified")
    assert lost.status_code == 409
    assert lost.headers["content-type"] == "application/problem+json"
    assert ("domain.verification_failed", "verified_by_another_organization") in events(
        world, second
    )
    absent = operator.post(f"/organizations/{first}/domains/other.test/assert-verified")
    assert absent.status_code == 404
