"""Step 8: turn single sign-on on. Possible only once a login test of exactly the current
settings has passed and one of the organization's domains is verified; the use case checks
both again when asked (`ConnectionSetup.activate_tested`), so the page's button is a
convenience, not the check."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from admin_portal.setup.field_errors import sentence
from admin_portal.setup.flow import nav, page, setup_connection
from broker.management.connection_view import awaiting_idp
from broker.management.errors import ResourceConflict
from broker.model.records import Connection
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)


def routes(portal: Portal) -> list[BaseRoute]:
    def render(
        request: Request, visit: Visit, connection: Connection, *, error: str = "",
        status: int = 200,
    ) -> Response:  # fmt: skip
        readiness = portal.management.connection_setup.readiness(visit.organization.id, connection)
        return portal.render(
            request, "setup_activate.html",
            {"connection": connection, "readiness": readiness, "error": error,
             "awaiting": awaiting_idp(connection),
             "steps": nav(visit, "activate", connection.id)},
            visit=visit, status=status,
        )  # fmt: skip

    async def show(request: Request, visit: Visit) -> Response:
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        return render(request, visit, connection)

    async def activate(request: Request, visit: Visit) -> Response:
        await portal.form(request, visit)
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        try:
            await run_in_threadpool(
                portal.management.connection_setup.activate_tested,
                visit.actor, visit.organization.id, connection.id,
            )  # fmt: skip
        except ResourceConflict as exc:
            log.info("portal activation refused connection=%s: %s", connection.id, exc)
            message = sentence(exc.detail)
            return render(request, visit, connection, error=message, status=409)
        return portal.redirect(f"/setup/{connection.id}/done")

    async def done(request: Request, visit: Visit) -> Response:
        connection = portal.connection(visit, str(request.path_params["connection_id"]))
        if not connection.active:
            return portal.redirect(f"/setup/{connection.id}/activate")
        readiness = portal.management.connection_setup.readiness(visit.organization.id, connection)
        return portal.render(
            request, "setup_done.html",
            {"connection": connection, "domains": readiness.verified_domains},
            visit=visit,
        )  # fmt: skip

    path = "/setup/{connection_id:str}"
    return [
        Route(f"{path}/activate", page(portal, show), methods=["GET"]),
        Route(f"{path}/activate", page(portal, activate), methods=["POST"]),
        Route(f"{path}/done", portal.with_visit(done), methods=["GET"]),
    ]
