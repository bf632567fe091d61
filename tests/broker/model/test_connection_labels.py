"""A connection as a person reads it: named after its identity provider."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.connection_labels import connection_label, idp_host
from broker.model.records import Connection, JsonObject

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def connection(name: str, kind: str = "saml", **config: object) -> Connection:
    settings: JsonObject = dict(config)
    return Connection(
        id="con_1", organization_id="org_1", kind=kind, name=name, config=settings,
        created_at=CREATED,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        # A product's tile: the product and the protocol.
        (connection("Okta (SAML)", strategy="okta"), "Okta (SAML)"),
        (connection("Microsoft Entra ID (OIDC)", "oidc", strategy="entra"),
         "Microsoft Entra ID (OIDC)"),
        # A generic tile's default name says only the protocol: the IdP's host instead.
        (connection("SAML identity provider", strategy="generic-saml",
                    sso_url="https://idp.acme.example/sso", idp_entity_id="urn:acme"),
         "idp.acme.example (SAML)"),
        (connection("OpenID Connect provider", "oidc", strategy="generic-oidc",
                    issuer="https://login.acme.example/realms/staff"),
         "login.acme.example (OIDC)"),
        # Created through the API without a name: "SAML: <entity ID>" becomes the host too.
        (connection("SAML: https://sts.acme.example/adfs", idp_entity_id="https://sts.acme.example/adfs"),
         "sts.acme.example (SAML)"),
        # A name someone chose is theirs.
        (connection("Acme contractors", strategy="okta"), "Acme contractors"),
        # Before the IdP's values arrive, the tile's name is all there is.
        (connection("SAML identity provider", strategy="generic-saml"), "SAML identity provider"),
        (connection("SAML: urn:acme", idp_entity_id="urn:acme"), "SAML identity provider"),
    ],
)  # fmt: skip
def test_a_connection_is_labelled_after_its_identity_provider(
    shown: Connection, expected: str
) -> None:
    assert connection_label(shown) == expected


def test_the_sso_url_is_preferred_to_the_entity_id_and_garbage_names_no_host() -> None:
    config = {"sso_url": "https://[broken/sso", "idp_entity_id": "https://idp.example/x"}
    assert idp_host("saml", config) == "idp.example"
    assert idp_host("saml", {"sso_url": 7}) is None
    assert idp_host("other", {"issuer": "https://idp.example"}) is None
