"""Opening a portal link: an interstitial on GET, the exchange on POST (T-03, T-05, T-12)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal import csrf
from admin_portal.home import landing
from admin_portal.page_context import Portal
from admin_portal.sessions import SESSION_TTL, LinkRefused, TooManyAttempts
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)


def routes(portal: Portal) -> list[BaseRoute]:
    async def interstitial(request: Request) -> Response:
        """Spends nothing: a mail scanner that fetches the link leaves it usable. The token
        is in this page's URL, so the page loads nothing from anywhere else (T-05)."""
        token = str(request.path_params["token"])
        return portal.render(request, "link.html", {"token": token})

    async def redeem(request: Request) -> Response:
        try:
            form = await request.form(max_files=0, max_fields=4)
        except HTTPException as exc:  # not the interstitial's form: a file, or past the body cap
            log.warning("portal link redemption unreadable: %s", exc.detail)
            return portal.render(request, "link_refused.html", {"busy": False}, status=400)
        token = form.get("token")
        try:
            # No session yet, so no form token: the link's token itself is the secret a
            # forger lacks; the browser's Origin must still be ours.
            csrf.check_origin({k.lower(): v for k, v in request.headers.items()}, portal.origin)
            if not isinstance(token, str) or not token:
                raise LinkRefused
            opened = portal.sessions.redeem(token, client=portal.client_address(request))
        except (LinkRefused, csrf.CsrfRefused):
            return portal.render(request, "link_refused.html", {"busy": False}, status=410)
        except TooManyAttempts as exc:
            busy = portal.render(request, "link_refused.html", {"busy": True}, status=429)
            busy.headers["Retry-After"] = str(exc.retry_after)
            return busy
        # A new session secret, never one the browser brought (T-12), and a URL without
        # the token from here on; a live connection's admin lands on it.
        response = portal.redirect(await run_in_threadpool(landing, portal, opened.session))
        portal.set_session_cookie(response, opened.secret, int(SESSION_TTL.total_seconds()))
        return response

    async def sign_out(request: Request) -> Response:
        """Only the browser's Origin is checked, not the form token: a session that timed
        out has none to compare, and signing out must still work then."""
        try:
            csrf.check_origin({k.lower(): v for k, v in request.headers.items()}, portal.origin)
        except csrf.CsrfRefused:
            return portal.error(
                request, None, status=403, title="Sign out from the portal's own page",
                message="This request did not come from the setup portal.",
            )  # fmt: skip
        portal.sessions.end(request.cookies.get(portal.cookie_name))
        response = portal.redirect("/signed-out")
        response.delete_cookie(portal.cookie_name, path="/", secure=portal.secure, httponly=True)
        return response

    async def signed_out(request: Request) -> Response:
        return portal.render(request, "signed_out.html", {})

    return [
        Route("/link/{token:str}", interstitial, methods=["GET"]),
        Route("/link", redeem, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/signed-out", signed_out, methods=["GET"]),
    ]
