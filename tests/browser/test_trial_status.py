"""The test step follows a test login without the result page's help, in Chromium: the
result is recorded the way the broker records it (here, straight into the store, so no
result page opens and no BroadcastChannel message is sent), and the page that waits on it
shows it by itself, from asking `/portal/connections/{id}/tests/latest`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from broker.model.opaque import new_id
from broker.model.portal import ConnectionTest, config_digest
from tests.support.browser import Screenshots
from tests.support.browser_setup import Assistant, invite_acme
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def test_the_test_step_shows_a_finished_test_by_asking(
    world: BrowserWorld, page: Page, shot: Screenshots
) -> None:
    # The setup's earlier pages are checked for accessibility in test_setup_flow.py.
    admin = Assistant(world, page, shot, accessibility=False)
    invitation = invite_acme(world, f"watch-{secrets.token_hex(4)}.test")
    admin.open_link(invitation.url)
    admin.choose_generic_saml()
    admin.read_guide()
    admin.give_metadata_url()
    admin.keep_attributes()
    expect(page.get_by_text("No test yet.")).to_be_visible()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/tests/latest" in r.url else None)

    organization = invitation.organization
    [connection] = world.broker.management.connections.page(organization.id, after=None, limit=10)
    with world.store.unit_of_work() as uow:
        uow.connection_tests.add(
            ConnectionTest(
                id=new_id("tst"), organization_id=organization.id,
                connection_id=connection.id, config_digest=config_digest(connection.config),
                passed=True, reason=None, report={}, created_at=datetime.now(UTC),
            )
        )  # fmt: skip

    # The page asks every 4 s: more than the usual step's wait on a loaded machine.
    passed = page.get_by_text("✓ A test of the current settings passed.")
    expect(passed).to_be_visible(timeout=15_000)
    expect(page.get_by_role("link", name="Next: prove you own your email domain")).to_be_visible()
    shot("the test step updated by itself")
    assert asked, "the page never asked"
    assert all(url.endswith(f"/portal/connections/{connection.id}/tests/latest") for url in asked)
