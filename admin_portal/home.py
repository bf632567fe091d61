"""The portal's first page: which organization, what will happen, the steps ahead; or, for
an edit link, the connection it was sent for."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.kit import Portal, Visit


def routes(portal: Portal) -> list[BaseRoute]:
    async def home(request: Request, visit: Visit) -> Response:
        if visit.session.connection_id is not None:
            return portal.redirect(f"/connections/{visit.session.connection_id}")
        domains = portal.management.domains.page(visit.organization.id, after=None, limit=100)
        return portal.render(
            request,
            "home.html",
            {"domains": domains, "steps": steps(visit)},
            visit=visit,
        )

    return [Route("/", portal.with_visit(home), methods=["GET"])]


def steps(visit: Visit) -> list[str]:
    """The assistant's steps this link grants, in order, as the welcome page lists them."""
    found = []
    if visit.has("sso"):
        found += [
            "Choose your identity provider",
            "Create the application there, following our guide",
            "Give Gatehouse its settings",
            "Check the attributes it sends",
            "Test a real login",
        ]
    if visit.has("domain_verification"):
        found.append("Prove you own your email domains (a DNS record)")
    if visit.has("sso"):
        found.append("Turn single sign-on on")
    return found
