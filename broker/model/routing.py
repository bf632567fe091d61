"""Home-realm discovery: which connection should this person log in with?

`resolve` applies the order, one small check each: an explicit connection, an explicit
organization, else the domain of the email. Only verified domains route: an unverified
claim on `acme.com` must not be able to send acme's employees to another organization's
IdP. What routing reads comes through a `Directory` the caller backs with its store, so the
decision itself is pure and tested as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from broker.model.names import email_domain
from broker.model.reasons import Reason
from broker.model.records import AuthorizationRequest, Connection, Domain


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

    reason: Reason


RoutingDecision = Route | Choose | NoRoute


class Directory(Protocol):
    """What routing reads. Ids come from a request: one that names nothing is None."""

    def connection(self, connection_id: str) -> Connection | None: ...

    def connections_of(self, organization_id: str) -> Sequence[Connection] | None:
        """The organization's connections; None if there is no such organization."""
        ...

    def verified_domain(self, name: str) -> Domain | None:
        """The claim on `name` some organization has verified, if one has."""
        ...


def resolve(
    request: AuthorizationRequest, email: str | None, directory: Directory
) -> RoutingDecision:
    """The relying party's explicit choice first (`connection`, then `organization`), else
    the email's domain. A hint that names nothing routes nowhere: it never falls back to the
    email, so a relying party's mistake is seen, not papered over."""
    if request.connection_hint:
        return by_connection(directory.connection(request.connection_hint))
    if request.organization_hint:
        connections = directory.connections_of(request.organization_hint)
        if connections is None:
            return NoRoute(Reason.UNKNOWN_ORGANIZATION)
        return resolve_for_organization(connections, email_domain(email or ""))
    domain_name = email_domain(email or "")
    if domain_name is None:
        return NoRoute(Reason.INVALID_EMAIL)
    domain = directory.verified_domain(domain_name)
    connections = directory.connections_of(domain.organization_id) if domain else ()
    return resolve_for_domain(domain, connections or (), domain_name)


def by_connection(connection: Connection | None) -> RoutingDecision:
    if connection is None:
        return NoRoute(Reason.UNKNOWN_CONNECTION)
    return Route(connection) if connection.active else NoRoute(Reason.NO_ACTIVE_CONNECTION)


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
        return NoRoute(Reason.UNKNOWN_DOMAIN)
    return resolve_for_organization(connections, email_domain_name)


def resolve_for_organization(
    connections: Sequence[Connection], email_domain_name: str | None = None
) -> RoutingDecision:
    """An organization with one active connection uses it; with several, the connections
    whose own domain list names the email's domain; else the person chooses."""
    active = tuple(c for c in connections if c.active)
    if not active:
        return NoRoute(Reason.NO_ACTIVE_CONNECTION)
    if len(active) == 1:
        return Route(active[0])
    if email_domain_name is not None:
        matching = tuple(c for c in active if email_domain_name in c.domains)
        if len(matching) == 1:
            return Route(matching[0])
        if matching:
            return Choose(matching)
    return Choose(active)
