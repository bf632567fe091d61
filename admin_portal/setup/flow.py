"""What every page of the setup assistant shares: the step indicator, and reading the
connection a URL names.

A connection is always read through `Portal.connection` (this organization's only, and for
an edit link only its own: T-04). The assistant sets up a connection that is not on yet; a
connection that is already on is maintained elsewhere (`/connections/{id}`), so every
assistant page for one sends the browser there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from admin_portal.page_context import Handler, Portal, Visit
from broker.model.records import Connection

#: The assistant's steps, in order: (key, label in the step indicator).
STEPS = (
    ("choose", "Identity provider"),
    ("guide", "Create the app"),
    ("settings", "Settings"),
    ("attributes", "Attributes"),
    ("test", "Test"),
    ("domains", "Domains"),
    ("activate", "Turn on"),
)


@dataclass(frozen=True, slots=True)
class NavStep:
    label: str
    #: A portal path, or None where the step cannot be reached yet (no connection).
    href: str | None
    current: bool


def nav(visit: Visit, current: str, connection_id: str | None) -> list[NavStep]:
    """The step indicator: the domains step only when the link grants it."""
    found = []
    for key, label in STEPS:
        if key == "domains" and not visit.has("domain_verification"):
            continue
        found.append(NavStep(label, _href(key, connection_id), key == current))
    return found


def _href(key: str, connection_id: str | None) -> str | None:
    if key == "choose":
        return None if connection_id else "/setup"
    if key == "domains":
        return "/domains" + (f"?connection={connection_id}" if connection_id else "")
    return f"/setup/{connection_id}/{key}" if connection_id else None


class AlreadyActive(Exception):
    """The connection is on: its pages are the maintenance overview's."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id


def setup_connection(portal: Portal, visit: Visit, connection_id: str) -> Connection:
    """The connection a setup URL names: scoped (404 otherwise) and not yet on."""
    connection = portal.connection(visit, connection_id)
    if connection.active:
        raise AlreadyActive(connection.id)
    return connection


def page(portal: Portal, handler: Callable[[Request, Visit], Awaitable[Response]]) -> Handler:
    """`Portal.with_visit`, plus: a page of a connection that is already on redirects to its
    overview."""

    async def setup_page(request: Request, visit: Visit) -> Response:
        try:
            return await handler(request, visit)
        except AlreadyActive as exc:
            return portal.redirect(f"/connections/{exc.connection_id}")

    return portal.with_visit(setup_page)
