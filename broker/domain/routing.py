"""Home-realm discovery: which connection should this person log in with?

Order (DESIGN.md, "Route"): an explicit connection, an explicit organization, else the
domain of the email. Only verified domains route: an unverified claim on `acme.com` must not
be able to send acme's employees to another organization's IdP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broker.domain.model import Connection, Domain


@dataclass(frozen=True, slots=True)
class Route:
    """Log in with this connection."""

    connection: Connection


@dataclass(frozen=True, slots=True)
class Choose:
    """Several connections fit: the person picks one."""

    connections: tuple[Connection, ...]


@dataclass(frozen=True, slots=True)
class NoRoute:
    """Nothing fits; `reason` is a stable code the page and the log use."""

    reason: str


RoutingDecision = Route | Choose | NoRoute


def resolve_for_domain(
    domain: Domain | None, connections: Sequence[Connection], email_domain_name: str
) -> RoutingDecision:
    """`domain` is the verified claim on the email's domain (None if no organization has
    verified it); `connections` are its organization's.

    An unverified claim routes nowhere and gets the same reason as no claim at all,
    "unknown_domain": any organization may claim any name, so an unverified claim says
    nothing about who owns it, and the login page must not tell a stranger that someone
    has claimed (or is onboarding) a domain."""
    if domain is None or not domain.is_verified:
        return NoRoute("unknown_domain")
    return resolve_for_organization(connections, email_domain_name)


def resolve_for_organization(
    connections: Sequence[Connection], email_domain_name: str | None = None
) -> RoutingDecision:
    """An organization with one active connection uses it; with several, the connections
    whose own domain list names the email's domain; else the person chooses."""
    active = tuple(c for c in connections if c.active)
    if not active:
        return NoRoute("no_active_connection")
    if len(active) == 1:
        return Route(active[0])
    if email_domain_name is not None:
        matching = tuple(c for c in active if email_domain_name in c.domains)
        if len(matching) == 1:
            return Route(matching[0])
        if matching:
            return Choose(matching)
    return Choose(active)
