"""Step 6: test a real login through the connection, in a new tab. The form posts to
`/connections/{id}/test` (trial_logins.py); the IdP's answer lands on the result page
(`/tests/{id}`). This page lists the latest results, and says whether a passed test covers
the settings as they are now: activation needs exactly that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from admin_portal.setup.flow import nav, page, setup_connection
from admin_portal.trial_logins import idp_urls
from broker.management.connection_view import awaiting_idp
from broker.model.portal import config_digest

LATEST = 5


@dataclass(frozen=True, slots=True)
class TrialRow:
    id: str
    at: datetime
    passed: bool
    reason: str | None
    #: Tested the settings as they are now (a test of earlier settings does not count).
    current: bool


def routes(portal: Portal) -> list[BaseRoute]:
    async def show(request: Request, visit: Visit) -> Response:
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        organization_id = visit.organization.id
        digest = config_digest(connection.config)
        rows = [
            TrialRow(t.id, t.created_at, t.passed, t.reason, t.config_digest == digest)
            for t in portal.management.connection_tests.latest(
                organization_id, connection.id, limit=LATEST
            )
        ]
        readiness = portal.management.connection_setup.readiness(organization_id, connection)
        return portal.render(
            request, "setup_test.html",
            {"connection": connection, "tests": rows, "tested": readiness.tested,
             "verified_domains": readiness.verified_domains,
             "awaiting": awaiting_idp(connection),
             "steps": nav(visit, "test", connection.id)},
            # The test form is answered by a redirect to the IdP: CSP form-action must allow it.
            visit=visit, form_targets=idp_urls(connection),
        )  # fmt: skip

    return [Route("/setup/{connection_id:str}/test", page(portal, show), methods=["GET"])]
