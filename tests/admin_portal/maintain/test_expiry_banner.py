"""The expiry banner at the top of a connection's overview: absent while every trusted
certificate lasts, an expiry in days (or an expiry passed) when one ends within the 30
days of the first `connection.certificate_expiring` notice, and what to do: nothing if a
newer certificate is already trusted, else add the next one."""

from __future__ import annotations

import re
from datetime import timedelta

from admin_portal.maintain.expiry_banner import expiry_banner
from admin_portal.maintain.overview import certificate
from broker.management.connection_view import certificate_view
from tests.support.certificates import certificate_pem, fingerprint
from tests.support.maintain_world import MaintainWorld, op_key, world

__all__ = ["op_key", "world"]  # fixtures

DAY = timedelta(days=1)


def banner(world: MaintainWorld, *certificates: str) -> str:
    """The banner section of the overview of a new connection trusting `certificates`
    (empty when there is none)."""
    org = world.organization()
    connection = world.saml(org.id, *certificates)
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}")
    assert page.status_code == 200
    found = re.search(
        r'<section[^>]*aria-labelledby="expiry-heading">.*?</section>', page.text, re.S
    )
    return found.group(0) if found else ""


def pem(world: MaintainWorld, delta: timedelta, name: str) -> str:
    return certificate_pem(not_after=world.clock.now() + delta, common_name=name)


def test_no_banner_while_every_certificate_lasts(world: MaintainWorld) -> None:
    assert banner(world, pem(world, 31 * DAY, "Acme lasting")) == ""


def test_an_ending_certificate_without_a_successor_asks_for_the_next_one(
    world: MaintainWorld,
) -> None:
    soon = pem(world, 20 * DAY + timedelta(hours=1), "Acme soon")
    shown = banner(world, soon)
    assert "expires in 20 days" in shown
    assert "CN=Acme soon" in shown
    assert fingerprint(soon) in shown
    assert "/certificates" in shown  # where to add the next one
    assert 'role="alert"' in shown


def test_an_ending_certificate_with_a_successor_says_so(world: MaintainWorld) -> None:
    shown = banner(
        world, pem(world, 6 * DAY + timedelta(hours=1), "Acme old"),
        pem(world, 400 * DAY, "Acme new"),
    )  # fmt: skip
    assert "expires in 6 days" in shown
    assert "already trusts a newer certificate, <code>CN=Acme new</code>" in shown
    assert "/certificates" not in shown


def test_an_expired_certificate_says_sign_ins_fail(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(
        org.id, pem(world, DAY, "Acme expiring"), pem(world, 10 * DAY, "Acme soon")
    )
    world.clock.advance(2 * DAY)  # a certificate cannot be added expired: it expires here
    page = world.editing(org.id, connection).get(f"/portal/connections/{connection.id}")
    shown = re.search(
        r'<section[^>]*aria-labelledby="expiry-heading">.*?</section>', page.text, re.S
    )
    assert shown is not None
    assert "has expired" in shown.group(0)
    assert "CN=Acme expiring" in shown.group(0)  # the soonest first: the expired one leads
    assert "error-summary" in shown.group(0)


def test_the_banner_lists_the_ending_certificates_soonest_first() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    made = [
        certificate(certificate_view(certificate_pem(not_after=now + d * DAY, common_name=n)), now)
        for n, d in (("later", 25), ("sooner", 3), ("lasting", 90), ("lasting longer", 300))
    ]
    found = expiry_banner(made)
    assert found is not None
    assert [c.view.subject for c in found.ending] == ["CN=sooner", "CN=later"]
    assert found.successor is not None
    assert found.successor.view.subject == "CN=lasting longer"
    assert expiry_banner(made[2:]) is None
