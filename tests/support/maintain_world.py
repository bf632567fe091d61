"""The portal's maintenance pages in process: an organization with a live SAML connection
(the IdP's values typed in, certificates the test makes) or an OIDC one (discovery from a
MockOp behind the broker's outbound client), an edit link's browser, and the forms it
submits the way a page does (the form token read from the page first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from broker.app import create_app
from broker.clock import FixedClock
from broker.model.opaque import new_id
from broker.model.portal import ConnectionTest, config_digest
from broker.model.records import Connection
from broker.store import Store
from broker.store.sql import SqlStore
from broker.store.sql.tables import metadata
from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER, make_settings
from tests.support.management_checks import database_text
from tests.support.mock_op import MockOp
from tests.support.portal_world import ACTOR, PortalWorld, csrf_token

IDP_ENTITY_ID = "https://idp.acme.test/saml"
SSO_URL = "https://idp.acme.test/sso"


@dataclass
class MaintainWorld(PortalWorld):
    op: MockOp | None = None
    #: What the broker's outbound client answers, by URL (IdP metadata documents).
    documents: dict[str, bytes] = field(default_factory=dict)

    def saml(self, organization_id: str, *certificates: str) -> Connection:
        """A live SAML connection trusting `certificates` (one valid for a year without)."""
        trusted = list(certificates) or [
            certificate_pem(not_after=self.clock.now() + timedelta(days=365))
        ]
        settings = {"idp_entity_id": IDP_ENTITY_ID, "sso_url": SSO_URL, "certificates": trusted}
        saved = self.broker.management.connections.create_saml(ACTOR, organization_id, settings)
        return saved.connection

    def oidc(self, organization_id: str) -> Connection:
        assert self.op is not None
        settings = {"issuer": self.op.issuer, "client_id": self.op.client_id}
        saved = self.broker.management.connections.create_oidc(
            ACTOR, organization_id, settings, client_secret=self.op.client_secret
        )
        return saved.connection

    def editing(self, organization_id: str, connection: Connection, **options: Any) -> TestClient:
        """An edit link's browser for `connection`, signed in."""
        return self.signed_in(organization_id, connection_id=connection.id, **options)

    def stored(self, connection_id: str) -> Connection:
        with self.store.unit_of_work() as uow:
            return uow.connections.get(connection_id)

    def passed_test(self, connection: Connection, config: Any, *, passed: bool = True) -> str:
        """A test result as the broker's test-login callback records it (the rotation test
        runs real ones)."""
        test_id = new_id("tst")
        with self.store.unit_of_work() as uow:
            uow.connection_tests.add(
                ConnectionTest(
                    id=test_id, organization_id=connection.organization_id,
                    connection_id=connection.id, config_digest=config_digest(config),
                    passed=passed, reason=None if passed else "signature_invalid", report={},
                    created_at=self.clock.now(),
                )
            )  # fmt: skip
        return test_id

    def database(self) -> str:
        assert isinstance(self.store, SqlStore)
        return database_text(self.store.engine)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table but the portal sessions (a request touches its own
        session's last use): what a refused request must leave as it found it."""
        assert isinstance(self.store, SqlStore)
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self.store.engine.connect() as connection:
            for table in metadata.sorted_tables:
                if table.name != "portal_sessions":
                    rows = connection.execute(sa.select(table)).all()
                    found[table.name] = sorted((tuple(r) for r in rows), key=repr)
        return found


def submit(
    browser: TestClient,
    path: str,
    data: dict[str, str] | None = None,
    *,
    files: dict[str, Any] | None = None,
    token_from: str = "/portal/",  # noqa: S107 (a page's path, not a password)
) -> httpx.Response:
    """A form posted from a portal page: its token read from the page, our Origin."""
    token = csrf_token(browser.get(token_from).text)
    response: httpx.Response = browser.post(
        path,
        data={"csrf": token, **(data or {})},
        files=files,
        headers={"Origin": ISSUER},
        follow_redirects=False,
    )
    return response


def build_maintain_world(
    store: Store, tmp_path: Path, *, op_key: RSAKey | None = None
) -> MaintainWorld:
    """The broker's outbound client reaches `world.documents` and, with `op_key`, a MockOp
    (still behind the outbound policy, which checks each URL first)."""
    clock = FixedClock()
    op = MockOp(key=op_key, now=clock.now) if op_key is not None else None
    documents: dict[str, bytes] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        document = documents.get(str(request.url))
        if document is not None:
            return httpx.Response(200, content=document)
        if op is not None:
            return op.handle(request)
        return httpx.Response(404)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    app = create_app(make_settings(tmp_path), store=store, clock=clock, http=http)
    return MaintainWorld(
        store=store, clock=clock, broker=app.state.broker, app=app, op=op, documents=documents
    )


@pytest.fixture
def world(store: Store, tmp_path: Path) -> MaintainWorld:
    return build_maintain_world(store, tmp_path)


@pytest.fixture(scope="module")
def op_key() -> RSAKey:
    """The OpenID Provider's signing key, made for these tests."""
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
