"""Home-realm discovery as plain functions: table-driven, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.names import email_domain
from broker.model.reasons import Reason
from broker.model.records import AuthorizationRequest, Connection, Domain
from broker.model.routing import (
    Choose,
    NoRoute,
    Route,
    RoutingDecision,
    resolve,
    resolve_for_domain,
    resolve_for_organization,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connection(cid: str, *, domains: tuple[str, ...] = (), active: bool = True) -> Connection:
    return Connection(
        id=cid, organization_id="org", kind="saml", name=cid, config={}, domains=domains,
        active=active, created_at=NOW,
    )  # fmt: skip


VERIFIED = Domain(organization_id="org", name="acme.test", verified_at=NOW)
UNVERIFIED = Domain(organization_id="org", name="acme.test")


def test_unknown_domain_does_not_route() -> None:
    assert resolve_for_domain(None, [connection("a")], "acme.test") == NoRoute(
        Reason("unknown_domain")
    )


def test_unverified_domain_does_not_route_and_looks_unknown() -> None:
    """Any organization may claim any name: an unverified claim must not tell a stranger
    on the login page that someone has claimed the domain."""
    decision = resolve_for_domain(UNVERIFIED, [connection("a")], "acme.test")
    assert decision == NoRoute(Reason("unknown_domain"))


def test_verified_domain_with_one_connection_routes() -> None:
    a = connection("a")
    assert resolve_for_domain(VERIFIED, [a], "acme.test") == Route(a)


def test_inactive_connections_do_not_route() -> None:
    decision = resolve_for_organization([connection("a", active=False)], "acme.test")
    assert decision == NoRoute(Reason("no_active_connection"))


def test_several_connections_route_by_their_domain_list() -> None:
    eu, us = connection("eu", domains=("acme.eu",)), connection("us", domains=("acme.test",))
    assert resolve_for_organization([eu, us], "acme.test") == Route(us)


def test_several_matching_connections_offer_a_choice_among_them() -> None:
    a, b = connection("a", domains=("acme.test",)), connection("b", domains=("acme.test",))
    c = connection("c", domains=("other.test",))
    assert resolve_for_organization([a, b, c], "acme.test") == Choose((a, b))


def test_several_connections_and_no_match_offer_every_active_one() -> None:
    a, b = connection("a"), connection("b")
    off = connection("off", active=False)
    assert resolve_for_organization([a, b, off], "acme.test") == Choose((a, b))
    assert resolve_for_organization([a, b], None) == Choose((a, b))


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ann@Acme.TEST", "acme.test"),
        ("ann@acme.test.", "acme.test"),
        ('"a@b"@acme.test', None),  # quoted local part: refused, not repaired (D-09)
        ("ann@bücher.example", "xn--bcher-kva.example"),
        ("no-at-sign", None),
        ("@acme.test", None),
        ("ann@", None),
    ],
)
def test_email_domain(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


class Directory:
    """Routing's view of the store, as a table."""

    def __init__(self) -> None:
        self.connections = {
            "con_a": connection("con_a"),
            "con_off": connection("con_off", active=False),
        }
        self.organizations = {"org": [connection("con_a")], "org_empty": []}
        self.domains = {"acme.test": VERIFIED}

    def connection(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def connections_of(self, organization_id: str) -> list[Connection] | None:
        return self.organizations.get(organization_id)

    def verified_domain(self, name: str) -> Domain | None:
        return self.domains.get(name)


def authz(
    connection_hint: str | None = None, organization_hint: str | None = None
) -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id="rp", redirect_uri="https://rp.test/cb", scope=("openid",),
        connection_hint=connection_hint, organization_hint=organization_hint,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("hints", "email", "decision"),
    [
        ({"connection_hint": "con_a"}, None, Route(connection("con_a"))),
        ({"connection_hint": "con_off"}, None, NoRoute(Reason("no_active_connection"))),
        ({"connection_hint": "nope"}, "ann@acme.test", NoRoute(Reason("unknown_connection"))),
        # The connection hint wins over the organization and the email.
        (
            {"connection_hint": "nope", "organization_hint": "org"},
            None,
            NoRoute(Reason("unknown_connection")),
        ),
        ({"organization_hint": "org"}, None, Route(connection("con_a"))),
        ({"organization_hint": "org_empty"}, None, NoRoute(Reason("no_active_connection"))),
        ({"organization_hint": "nope"}, "ann@acme.test", NoRoute(Reason("unknown_organization"))),
        ({}, "ann@acme.test", Route(connection("con_a"))),
        ({}, "ann@ACME.test", Route(connection("con_a"))),
        ({}, "ann@elsewhere.test", NoRoute(Reason("unknown_domain"))),
        ({}, "not an email", NoRoute(Reason("invalid_email"))),
        ({}, None, NoRoute(Reason("invalid_email"))),
    ],
)
def test_resolve_applies_the_order(
    hints: dict[str, str], email: str | None, decision: RoutingDecision
) -> None:
    assert resolve(authz(**hints), email, Directory()) == decision
