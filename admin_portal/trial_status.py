"""Whether a test login finished, for the page that started it: the test step (and the
overview of a pending change) follow the test in the other tab without a "Check again".

GET /connections/{connection_id}/tests/latest   {"latest": "<test id>" | null}

The page knows the newest test it shows; its script (static/portal.js) asks this while the
page is in view, and at once when the result page in the other tab says it is done (a
BroadcastChannel, same origin only). A new id means a test finished: the page reloads and
shows it. "Check again" stays for a browser without script.

The answer is small and cheap (one indexed row), needs the portal session and reads the
connection through `Portal.connection` like every page (T-04: another organization's id is
"not found"), says nothing a page does not, and is never cached. It does not count as the
admin's activity, so a tab left open does not keep the session alive. The script asks at
most every few seconds, only while the page is visible, for a bounded time, and waits as
long as a `Retry-After` says.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from broker.workers import run_in_threadpool


def latest_test_id(portal: Portal, visit: Visit, connection_id: str) -> str | None:
    """The id of the connection's newest test login (of any settings), None before any."""
    connection = portal.connection(visit, connection_id)
    newest = portal.management.connection_tests.latest(
        visit.organization.id, connection.id, limit=1
    )
    return newest[0].id if newest else None


def routes(portal: Portal) -> list[BaseRoute]:
    async def latest(request: Request, visit: Visit) -> Response:
        connection_id = str(request.path_params["connection_id"])
        found = await run_in_threadpool(latest_test_id, portal, visit, connection_id)
        return JSONResponse({"latest": found}, headers={"Cache-Control": "no-store"})

    return [
        Route(
            "/connections/{connection_id:str}/tests/latest",
            portal.with_visit(latest, touch=False),
            methods=["GET"],
        )
    ]
