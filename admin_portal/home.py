"""The portal's first page: which organization, what will happen, the steps ahead, and the
connections already begun (the admin comes back with the same link and continues); or, for
an edit link, the connection it was sent for.

Where a link lands (`landing`): an admin whose single sign-on is on comes back to look after
it, not to start over, so a link that opens on one live connection lands on its overview;
with several, this page lists them first. From either, a new setup is one click away."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from broker.management.connection_view import awaiting_idp
from broker.model.connection_labels import connection_label
from broker.model.portal import PortalSession
from broker.model.records import Connection

MAX_LISTED = 100


@dataclass(frozen=True, slots=True)
class Begun:
    """A connection set up in the portal and not on yet, and where to continue."""

    id: str
    name: str
    awaiting: bool
    continue_path: str


def routes(portal: Portal) -> list[BaseRoute]:
    async def home(request: Request, visit: Visit) -> Response:
        if visit.session.connection_id is not None:
            return portal.redirect(f"/connections/{visit.session.connection_id}")
        organization_id = visit.organization.id
        domains = portal.management.domains.page(organization_id, after=None, limit=MAX_LISTED)
        connections: list[Connection] = []
        if visit.has("sso"):
            connections = portal.management.connections.page(
                organization_id, after=None, limit=MAX_LISTED
            )
        return portal.render(
            request, "home.html",
            {"domains": domains, "steps": steps(visit), "begun": begun(connections),
             "active": [c for c in connections if c.active],
             "start": start(visit)},
            visit=visit,
        )  # fmt: skip

    return [Route("/", portal.with_visit(home), methods=["GET"])]


def landing(portal: Portal, session: PortalSession) -> str:
    """The portal path a link's new session opens on: an edit link's connection; the one
    live connection of the organization; else the welcome page (none live, several, or a
    link without `sso`, which may not see connections)."""
    if session.connection_id is not None:
        return f"/connections/{session.connection_id}"
    if "sso" not in session.features:
        return "/"
    connections = portal.management.connections.page(
        session.organization_id, after=None, limit=MAX_LISTED
    )
    active = [c for c in connections if c.active]
    return f"/connections/{active[0].id}" if len(active) == 1 else "/"


def begun(connections: list[Connection]) -> list[Begun]:
    """Inactive connections begun from a tile (the setup assistant records the product):
    waiting for the IdP's values continue at the guide, the others at the test."""
    found = []
    for connection in connections:
        if connection.active or not connection.config.get("strategy"):
            continue
        waiting = awaiting_idp(connection)
        step = "guide" if waiting else "test"
        found.append(
            Begun(
                connection.id,
                connection_label(connection),
                waiting,
                f"/setup/{connection.id}/{step}",
            )
        )
    return found


def start(visit: Visit) -> str:
    """Where "Start" leads: the first part of the portal this link grants."""
    if visit.has("sso"):
        return "/setup"
    return "/domains" if visit.has("domain_verification") else "/directories"


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
