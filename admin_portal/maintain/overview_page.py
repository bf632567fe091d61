"""The overview of a connection, and the two things its pending change can become: the
active settings (switch over) or nothing (discard)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from admin_portal.maintain.expiry_banner import expiry_banner
from admin_portal.maintain.overview import overview
from admin_portal.maintain.pages import connection_of, sentence
from admin_portal.page_context import Portal, Visit
from admin_portal.trial_logins import idp_urls
from broker.management.errors import ResourceConflict
from broker.model.numerals import InvalidNumeral, parse_decimal
from broker.model.records import Connection
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)

#: Versions are database integers; a larger one was never shown on a page.
MAX_VERSION = 2**31 - 1

#: `?done=` after a change: what the overview confirms (fixed texts only).
NOTICES = {
    "saved": "Your change is saved as a draft. Sign-ins still use the active settings: "
    "test the change, then switch over.",
    "switched": "Switched over: sign-ins now use the new settings.",
    "discarded": "The draft is discarded. Nothing changed for sign-ins.",
}


class Pages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    async def show(self, request: Request, visit: Visit) -> Response:
        connection = connection_of(self.portal, request, visit)
        notice = NOTICES.get(request.query_params.get("done", ""))
        return await self.render(request, visit, connection, notice=notice)

    async def switch_over(self, request: Request, visit: Visit) -> Response:
        form = await self.portal.form(request, visit)
        connection = connection_of(self.portal, request, visit)
        seen = form.get("version")
        # The version the page showed: a draft edited in another tab since is not
        # switched on unseen. A form without it counts as stale.
        version = _version(seen)
        try:
            await run_in_threadpool(
                self.portal.management.connection_drafts.promote, visit.actor,
                visit.organization.id, connection.id, expected_version=version,
            )  # fmt: skip
        except ResourceConflict as exc:
            log.info("switch-over refused connection=%s: %s", connection.id, exc.detail)
            current = connection_of(self.portal, request, visit)
            return await self.render(
                request, visit, current, error=sentence(exc.detail), status=409
            )
        log.info("switched over connection=%s by %s", connection.id, visit.actor)
        return self.portal.redirect(f"/connections/{connection.id}?done=switched")

    async def discard(self, request: Request, visit: Visit) -> Response:
        await self.portal.form(request, visit)
        connection = connection_of(self.portal, request, visit)
        try:
            await run_in_threadpool(
                self.portal.management.connection_drafts.discard, visit.actor,
                visit.organization.id, connection.id,
            )  # fmt: skip
        except ResourceConflict as exc:
            current = connection_of(self.portal, request, visit)
            return await self.render(
                request, visit, current, error=sentence(exc.detail), status=409
            )
        return self.portal.redirect(f"/connections/{connection.id}?done=discarded")

    async def render(
        self,
        request: Request,
        visit: Visit,
        connection: Connection,
        *,
        notice: str | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        shown = await run_in_threadpool(
            overview, self.portal.management, connection, now=self.portal.clock.now()
        )
        context = {
            "o": shown, "notice": notice, "error": error,
            "expiry": expiry_banner(shown.certificates),
        }  # fmt: skip
        return self.portal.render(
            request, "maintain_overview.html", context, visit=visit, status=status,
            form_targets=idp_urls(connection),  # the test form's hand-off to the IdP
        )  # fmt: skip


def _version(seen: object) -> int:
    """The page's version, or -1 (stale) for anything our page does not send: ASCII digits,
    at most a database integer (`²` passed `isdigit()` and failed `int()`)."""
    if not isinstance(seen, str):
        return -1
    try:
        return parse_decimal(seen, maximum=MAX_VERSION)
    except InvalidNumeral:
        return -1
