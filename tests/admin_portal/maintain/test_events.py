"""Every change made through an edit link is an event whose actor is the portal link, and
the app team reads it through the management API's /events. Test logins started from the
portal carry the link too (their flow's TrialLogin), including across a deploy: a flow
stored before the field existed still reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from broker.management.events import EventFilter
from broker.model.portal import TrialLogin
from broker.model.records import AuthorizationRequest, PendingAuthorization
from broker.store.sql import SqlStore
from broker.store.sql.tables import flows
from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER
from tests.support.maintain_world import MaintainWorld, world
from tests.support.management_api import app_team
from tests.support.portal_forms import submit

__all__ = ["world"]  # fixtures


def test_changes_made_through_an_edit_link_are_events_the_app_team_reads(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    issued = world.broker.management.portal_links.create(
        "management_client:mc_test", org.id, connection_id=connection.id
    )
    browser = world.browser()
    assert world.open_link(browser, issued.url).status_code == 303
    path = f"/portal/connections/{connection.id}"
    pem = certificate_pem(not_after=world.clock.now() + timedelta(days=400))

    def step(action: str, form: dict[str, str] | None = None) -> None:
        world.clock.advance(timedelta(seconds=1))  # events list newest first, by time
        assert submit(browser, f"{path}/{action}", form).status_code == 303

    step("certificates", {"action": "add", "certificate_text": pem})
    step("discard")
    step("certificates", {"action": "add", "certificate_text": pem})
    drafted = world.stored(connection.id)
    world.passed_test(drafted, drafted.draft)
    step("switch-over", {"version": str(drafted.version)})

    response = app_team(world).get(
        "/events", params={"organization_id": org.id, "type": "connection.*"}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    by_link = [e for e in items if e["actor"] == f"portal_link:{issued.link.id}"]
    assert [e["type"] for e in reversed(by_link)] == [
        "connection.draft_saved",
        "connection.draft_discarded",
        "connection.draft_saved",
        "connection.updated",
    ]
    assert all(e["connection_id"] == connection.id for e in by_link)
    assert by_link[0]["detail"]["from_draft"] is True
    assert by_link[0]["detail"]["changed"] == ["certificates"]


def test_the_events_of_one_connection(world: MaintainWorld) -> None:
    org = world.organization()
    one, other = world.saml(org.id), world.saml(org.id)
    events = world.broker.management.events.page(
        EventFilter(organization_id=org.id, connection_id=one.id), before=None, limit=50
    )
    assert [e.kind for e in events] == ["connection.created"]
    assert {e.connection_id for e in events} == {one.id}
    assert other.id not in {e.connection_id for e in events}


def test_a_test_login_flow_carries_its_portal_link_and_old_flows_still_read(
    world: MaintainWorld,
) -> None:
    now = world.clock.now()
    org = world.organization()
    connection = world.saml(org.id)

    def flow(flow_id: str) -> PendingAuthorization:
        return PendingAuthorization(
            id=flow_id,
            request=AuthorizationRequest(client_id="gatehouse-portal-test",
                                         redirect_uri=f"{ISSUER}/portal/test", scope=("openid",)),
            created_at=now, expires_at=now + timedelta(minutes=10), connection_id=connection.id,
            test=TrialLogin(portal_session="h", use_draft=True, config_digest="d",
                           portal_link="pl_abc"),
        )  # fmt: skip

    with world.store.unit_of_work() as uow:
        uow.flows.create(flow("flow-new"))
        uow.flows.create(flow("flow-old"))
    # A row written before TrialLogin had the field: its JSON has no such key.
    assert isinstance(world.store, SqlStore)
    with world.store.engine.begin() as db:
        db.execute(
            sa.update(flows)
            .where(flows.c.id == "flow-old")
            .values(test={"portal_session": "h", "use_draft": True, "config_digest": "d"})
        )
    with world.store.unit_of_work() as uow:
        assert uow.flows.get("flow-new", now=now).test == flow("flow-new").test
        old = uow.flows.get("flow-old", now=now).test
    assert old is not None
    assert old.portal_link is None
    assert (old.portal_session, old.use_draft, old.config_digest) == ("h", True, "d")
