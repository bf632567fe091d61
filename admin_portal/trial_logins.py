"""Starting a test login from the portal: a real login through a connection (or its
pending draft) in a new tab, whose result page is `/tests/{id}` (results.py).

The login machinery is the broker's (`broker.login`), which the portal may not import;
the composition root hands it in as one callable, `LoginTestStarter`.

POST /connections/{connection_id}/test   form: csrf, draft ("1": test the pending draft)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from broker.errors import ConfigError
from broker.http import AutoPost, Redirect
from broker.model.portal import PortalSession
from broker.model.records import Connection
from broker.upstream.base import UpstreamError

log = logging.getLogger(__name__)


class LoginTestStarter(Protocol):
    def __call__(
        self,
        session: PortalSession,
        connection: Connection,
        *,
        use_draft: bool,
        cookies: Mapping[str, str],
    ) -> Redirect | AutoPost: ...


def routes(portal: Portal, starter: LoginTestStarter) -> list[BaseRoute]:
    async def start(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        connection = portal.connection(visit, str(request.path_params["connection_id"]))
        use_draft = form.get("draft") == "1"
        if use_draft and connection.draft is None:
            return portal.error(
                request, visit, status=409, title="Nothing to test",
                message="There are no unsaved changes to test: the connection's settings "
                "are the ones in use.",
            )  # fmt: skip
        try:
            return start_response(portal, starter, request, visit, connection, use_draft=use_draft)
        except UpstreamError as exc:
            log.info("test login not started connection=%s: %s", connection.id, exc)
            return portal.error(
                request, visit, status=502, title="Your identity provider did not answer",
                message="Gatehouse could not start the login with your identity provider "
                f"({exc.detail or exc.recorded_reason}). Check the issuer URL, then try again.",
            )  # fmt: skip
        except ConfigError as exc:
            log.info("test login not started connection=%s: %s", connection.id, exc)
            return portal.error(
                request, visit, status=409, title="Not ready to test",
                message="Give Gatehouse your identity provider's settings first, then test. "
                f"({exc.message})",
            )  # fmt: skip

    return [
        Route("/connections/{connection_id:str}/test", portal.with_visit(start), methods=["POST"])
    ]


def start_response(
    portal: Portal,
    starter: LoginTestStarter,
    request: Request,
    visit: Visit,
    connection: Connection,
    *,
    use_draft: bool,
) -> Response:
    """The browser's next stop: the IdP (a redirect, or a SAML POST form sent by script)."""
    action = starter(visit.session, connection, use_draft=use_draft, cookies=dict(request.cookies))
    response: Response
    if isinstance(action, Redirect):
        response = RedirectResponse(action.location, status_code=303)
    else:
        response = portal.render(
            request, "autopost.html", {"post": action}, visit=visit, form_targets=[action.action]
        )
    for cookie in action.cookies:
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path=cookie.path,
            secure=cookie.secure,
            httponly=True,
            samesite=cookie.same_site,  # type: ignore[arg-type]
        )
    return response


def idp_urls(connection: Connection) -> tuple[str, ...]:
    """Where the answer to a page's test form sends the browser: the IdP's login URL, of the
    active settings and of the draft. A page with the test form passes them to
    `Portal.render(form_targets=...)`: a browser applies CSP form-action to the redirect
    that answers a form, and would stop the hand-off to the IdP. An OIDC IdP whose
    authorization endpoint is not given by hand is taken to sign in at its issuer's origin."""
    found: list[str] = []
    for config in (connection.config, connection.draft or {}):
        endpoints = config.get("endpoints")
        manual = endpoints.get("authorization_endpoint") if isinstance(endpoints, Mapping) else None
        for value in (config.get("sso_url"), manual or config.get("issuer")):
            if isinstance(value, str):
                found.append(value)
    return tuple(dict.fromkeys(found))
