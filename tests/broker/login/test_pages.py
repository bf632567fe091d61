"""The login's own pages: the chooser names each connection after its identity provider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broker.login.pages import chooser_page
from broker.model.records import Connection
from tests.support.expiring import flow

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def saml(connection_id: str, name: str, sso_url: str) -> Connection:
    return Connection(
        id=connection_id, organization_id="org_1", kind="saml", name=name,
        config={"strategy": "generic-saml", "sso_url": sso_url}, created_at=NOW,
    )  # fmt: skip


def test_two_generic_connections_are_told_apart_by_their_identity_providers() -> None:
    staff = saml("con_1", "SAML identity provider", "https://idp.acme.example/sso")
    partners = saml("con_2", "SAML identity provider", "https://partners.acme.example/sso")
    pending = flow("flow_1", expires_at=NOW + timedelta(minutes=10))
    page = chooser_page(pending, "token", email="ann@acme.example", connections=[staff, partners])
    assert page.context["labels"] == {
        "con_1": "idp.acme.example (SAML)",
        "con_2": "partners.acme.example (SAML)",
    }
