"""Starting a test login from the portal. The login machinery is the broker's
(`broker.login`), which the portal may not import; the composition root hands it in as this
one callable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_portal.kit import Portal, Visit
from broker.domain.model import Connection
from broker.domain.portal import PortalSession
from broker.http import AutoPost, Redirect


class LoginTestStarter(Protocol):
    def __call__(
        self,
        session: PortalSession,
        connection: Connection,
        *,
        use_draft: bool,
        cookies: Mapping[str, str],
    ) -> Redirect | AutoPost: ...


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
        response = portal.render(request, "autopost.html", {"post": action}, visit=visit)
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
