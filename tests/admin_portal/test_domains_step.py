"""The domains step: claim a domain, publish the TXT record the page shows, "check now"
against a real DNS server, and read what was found in plain words. Claims are kept, so an
admin can publish today and check tomorrow with the same link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from admin_portal.domains import outcome
from broker.management.domains import Verification
from broker.model.records import Domain
from broker.store import Store
from tests.admin_portal.setup_world import ORIGIN, SetupWorld, setup_world
from tests.support.gatehouse import ACTOR
from tests.support.portal_forms import csrf_token


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


def post(browser: TestClient, path: str, data: dict[str, str]) -> httpx.Response:
    page = browser.get("/portal/domains")
    answer: httpx.Response = browser.post(
        path, data={"csrf": csrf_token(page.text), **data}, headers=ORIGIN, follow_redirects=False
    )
    return answer


def test_a_domain_is_claimed_published_and_checked(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id, enabled_features=["domain_verification"])
    added = post(browser, "/portal/domains", {"name": "  Acme.Example "})
    assert added.status_code == 303
    assert added.headers["location"] == "/portal/domains"
    claim = world.broker.management.domains.get(org.id, "acme.example")
    value = f"gatehouse-domain-verification={claim.verification_token}"

    # Later, with the same link: the claim and its record are still there.
    page = world.signed_in(org.id, enabled_features=["domain_verification"]).get("/portal/domains")
    # The name within the zone first, the full name for a console that wants it, and why.
    assert 'id="record-host-1">_gatehouse-challenge</code>' in page.text
    assert 'id="record-name-1">_gatehouse-challenge.acme.example</code>' in page.text
    assert "Most DNS consoles add <code>acme.example</code> to the" in page.text
    assert "<code>_gatehouse-challenge.acme.example.acme.example</code>" in page.text
    assert f">{value}</code>" in page.text
    assert page.text.count("data-copy=") == 3

    missing = post(browser, "/portal/domains/acme.example/check", {})
    assert missing.status_code == 200
    assert "Not verified yet." in missing.text
    assert "There is no TXT record at _gatehouse-challenge.acme.example yet" in missing.text
    assert "the name there must be _gatehouse-challenge alone" in missing.text

    world.zone.publish("_gatehouse-challenge.acme.example", "gatehouse-domain-verification=x")
    wrong = post(browser, "/portal/domains/acme.example/check", {})
    assert "but not with the value shown here" in wrong.text

    world.zone.publish("_gatehouse-challenge.acme.example", value)
    verified = post(browser, "/portal/domains/acme.example/check", {})
    assert "acme.example is verified." in verified.text
    assert "✓ Verified" in verified.text
    assert "_gatehouse-challenge.acme.example</code>" not in verified.text
    assert world.broker.management.domains.get(org.id, "acme.example").is_verified

    link = f"portal_link:{world.link_ids[0]}"
    by_kind = [(e.kind, e.reason, e.actor) for e in world.events(org.id) if e.kind != "portal"]
    assert ("domain.added", None, link) in by_kind
    assert ("domain.verification_failed", "record_not_found", link) in by_kind
    assert ("domain.verification_failed", "value_mismatch", link) in by_kind
    assert ("domain.verified", "dns", link) in by_kind


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("not a domain", 422, "Invalid domain"),
        ("com", 422, ""),
        ("Web.DE", 422, "web.de is a free email provider"),
        ("ex\u0430mple.com", 422, "xn--exmple-4nf.com (shown as ex\u0430mple.com) mixes"),
        ("taken.example", 409, "taken.example is already claimed by this organization."),
        ("rival.example", 409, "rival.example is verified by another organization."),
    ],
)
def test_a_domain_that_cannot_be_claimed_is_refused_beside_the_field(
    world: SetupWorld, name: str, status: int, message: str
) -> None:
    org, rival = world.organization(), world.organization("Rival")
    world.broker.management.domains.add(ACTOR, org.id, "taken.example")
    world.verified_domain(rival.id, "rival.example")
    browser = world.signed_in(org.id)
    refused = post(browser, "/portal/domains", {"name": name})
    assert refused.status_code == status
    error = refused.text.split('id="name-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'value="{name}"' in refused.text
    names = [d.name for d in world.broker.management.domains.page(org.id, after=None, limit=9)]
    assert names == ["taken.example"]


def test_an_unknown_domain_is_not_found(world: SetupWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    assert post(browser, "/portal/domains/nowhere.example/check", {}).status_code == 404


def test_the_assistants_way_back_is_kept(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "okta", "saml")
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/domains?connection={connection.id}")
    assert f'name="connection" value="{connection.id}"' in page.text
    assert f'href="/portal/setup/{connection.id}/activate"' in page.text
    assert '<span aria-current="step">Domains</span>' in page.text
    added = post(browser, "/portal/domains", {"name": "acme.example", "connection": connection.id})
    assert added.headers["location"] == f"/portal/domains?connection={connection.id}"


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (None, "is verified"),
        ("record_not_found", "no TXT record"),
        ("value_mismatch", "not with the value shown here"),
        ("timeout", "did not get an answer in time"),
        ("resolver_error", "The DNS lookup failed"),
        ("verified_by_another_organization", "already verified by another organization"),
        ("something_new", "could not be verified (something_new)"),
    ],
)
def test_every_outcome_is_said_in_words(failure: str | None, words: str) -> None:
    claim = Domain(
        organization_id="org_x", name="acme.example", verification_token="t",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    said = outcome(Verification(claim, failure, "found 'x'"))
    assert words in said.message
    assert said.ok is (failure is None)
