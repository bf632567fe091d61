"""Which events are queued, which patterns are accepted, which endpoint gets what."""

from __future__ import annotations

import pytest

from broker.model.webhook_catalogue import opt_in, queued, subscribed, valid_pattern, wants


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("organization.created", True),
        ("domain.verified", True),
        ("connection.certificate_expiring", True),  # a kind a scheduled job adds later
        ("portal_link.refused", True),
        ("directory.user_deactivated", True),
        ("login.succeeded", True),
        ("webhook_endpoint.disabled", True),
        ("idp.circuit_opened", False),
        ("management_client.created", False),
        ("organization", False),
        ("organizations.created", False),
    ],
)
def test_queued_by_family(kind: str, expected: bool) -> None:
    assert queued(kind) is expected


@pytest.mark.parametrize(
    ("patterns", "kind", "expected"),
    [
        (["*"], "connection.activated", True),
        (["*"], "login.succeeded", False),
        (["*"], "webhook_endpoint.disabled", False),
        (["*"], "idp.circuit_opened", False),
        (["login.*"], "login.failed", True),
        (["login.succeeded"], "login.succeeded", True),
        (["login.succeeded"], "login.failed", False),
        (["connection.*"], "connection.activated", True),
        (["connection.*"], "connections.x", False),
        (["connection.*"], "domain.verified", False),
        (["domain.verified", "*"], "login.failed", False),
        (["*", "login.*"], "login.failed", True),
        (["directory.user.*"], "directory.user.deactivated", True),
        (["directory.user.*"], "directory.group.user_added", False),
    ],
)
def test_subscribed(patterns: list[str], kind: str, expected: bool) -> None:
    assert subscribed(patterns, kind) is expected


@pytest.mark.parametrize(
    "pattern",
    ["*", "connection.*", "login.*", "domain.verified", "connection.cert_expiring",
     "directory.user.*", "directory.group.user_added"],
)  # fmt: skip
def test_valid_patterns(pattern: str) -> None:
    assert valid_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    ["", "**", "connection", "connection.", "connection.**", "idp.*", "login.*.x",
     "Connection.*", "domain..x", "domain.x.", "x" * 300, "connection.a b", "domain.é",
     "directory..*", "directory.user.**", "directory.*.user", "directory.user..*"],
)  # fmt: skip
def test_invalid_patterns(pattern: str) -> None:
    assert not valid_pattern(pattern)


def test_an_endpoints_organization_filter_decides_before_its_patterns() -> None:
    assert wants(("login.*",), None, "login.succeeded", "org_a")
    assert wants(("login.*",), "org_a", "login.succeeded", "org_a")
    assert not wants(("login.*",), "org_b", "login.succeeded", "org_a")
    assert not wants(("*",), None, "login.succeeded", "org_a")
    assert opt_in("login.failed")
    assert opt_in("webhook_endpoint.disabled")
    assert not opt_in("connection.updated")
