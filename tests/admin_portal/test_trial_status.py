"""The status a waiting page asks: has a test login of this connection finished since the
page was drawn? (admin_portal/trial_status.py)"""

from __future__ import annotations

import re
from datetime import timedelta

from broker.management.connection_view import awaiting_idp
from tests.support.maintain_world import MaintainWorld, world

__all__ = ["world"]  # fixtures


def status_path(connection_id: str) -> str:
    return f"/portal/connections/{connection_id}/tests/latest"


def test_the_newest_test_is_named_once_it_is_recorded(world: MaintainWorld) -> None:
    org = world.organization()
    live = world.saml(org.id)
    browser = world.signed_in(org.id)
    before = browser.get(status_path(live.id))
    assert before.status_code == 200
    assert before.json() == {"latest": None}
    assert before.headers["cache-control"] == "no-store"
    first = world.passed_test(live, live.config)
    world.clock.advance(timedelta(seconds=1))
    second = world.passed_test(live, live.config, passed=False)
    assert first != second
    assert browser.get(status_path(live.id)).json() == {"latest": second}


def test_without_a_session_nothing_is_said(world: MaintainWorld) -> None:
    org = world.organization()
    live = world.saml(org.id)
    world.passed_test(live, live.config)
    answer = world.browser().get(status_path(live.id))
    assert answer.status_code == 401
    assert "latest" not in answer.text


def test_another_organizations_connection_is_not_found(world: MaintainWorld) -> None:
    rival = world.organization("Rival")
    theirs = world.saml(rival.id)
    test_id = world.passed_test(theirs, theirs.config)
    browser = world.signed_in(world.organization("Acme").id)
    answer = browser.get(status_path(theirs.id))
    assert answer.status_code == 404
    assert test_id not in answer.text


def test_an_edit_link_asks_only_about_its_own_connection(world: MaintainWorld) -> None:
    org = world.organization()
    mine, other = world.saml(org.id), world.saml(org.id)
    browser = world.editing(org.id, mine)
    assert browser.get(status_path(mine.id)).status_code == 200
    assert browser.get(status_path(other.id)).status_code == 404


def test_asking_does_not_keep_an_idle_session_alive(world: MaintainWorld) -> None:
    """A test page left open in a tab asks every few seconds: the session still goes idle
    after 30 minutes without the admin doing anything."""
    org = world.organization()
    live = world.saml(org.id)
    browser = world.signed_in(org.id)
    for _ in range(7):  # 35 minutes of a page asking every 5
        world.clock.advance(timedelta(minutes=5))
        browser.get(status_path(live.id))
    assert browser.get(status_path(live.id)).status_code == 401
    assert browser.get("/portal/").status_code == 401


def test_a_page_view_still_counts_as_activity(world: MaintainWorld) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    for _ in range(7):
        world.clock.advance(timedelta(minutes=5))
        assert browser.get("/portal/").status_code == 200


def test_the_test_step_watches_from_the_newest_test_it_shows(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    world.broker.management.connections.deactivate("test", org.id, connection.id)
    assert not awaiting_idp(connection)
    test_id = world.passed_test(connection, connection.config)
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/test")
    assert page.status_code == 200
    watch = re.search(r"<p data-test-watch=\"([^\"]+)\" data-connection=\"([^\"]+)\" "
                      r"data-latest=\"([^\"]*)\">", page.text)  # fmt: skip
    assert watch is not None, page.text
    assert watch.groups() == (status_path(connection.id), connection.id, test_id)
    assert ">Check again</a>" in page.text  # without script
    # The page's script may ask its own origin, and nothing else.
    assert "connect-src 'self';" in page.headers["content-security-policy"]
    # The result page tells the waiting page of the same connection that it is done.
    result = browser.get(f"/portal/tests/{test_id}")
    assert f'<div hidden data-test-finished="{connection.id}"></div>' in result.text
