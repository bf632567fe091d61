"""`/healthz` (liveness) and `/readyz` (readiness) over HTTP, on the app `create_app`
builds over a real database: what a load balancer and an orchestrator read, that probes are
not rate-limited or counted, and that a failing probe shows no trace and logs once."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from starlette.testclient import TestClient

from broker.app import create_app
from broker.settings_rate_limits import RateLimitSettings
from broker.store.sql import SqlStore
from broker.store.sql.migrate import alembic_config
from broker.store.sql.schema import revisions
from broker.store.sql.tables import rate_limits
from tests.conftest import BACKENDS
from tests.support.config import ISSUER, make_settings
from tests.support.databases import Database
from tests.support.schema_revisions import blank_database, migrate_to, one_behind_head

#: Every route limit at one request a minute: a probe counted anywhere would be refused.
ONE_A_MINUTE = RateLimitSettings(
    authorize=1, login=1, callback=1, token_per_address=1, token_per_client=1,
    portal_link=1, portal_link_all=1,
)  # fmt: skip


@pytest.fixture(params=BACKENDS)
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with blank_database(request.param, tmp_path, request) as database:
        migrate_to(database.engine, "head")
        yield database


@pytest.fixture
def client(migrated: Database, tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path, rate_limits=ONE_A_MINUTE)
    app = create_app(settings, store=SqlStore(migrated.engine))
    return TestClient(app, base_url=ISSUER, raise_server_exceptions=False)


def downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def test_liveness_is_the_process_not_the_database(client: TestClient, migrated: Database) -> None:
    """A database that cannot serve makes the instance unready, never dead: restarting
    the process would not mend it."""
    downgrade(migrated, "base")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/readyz").status_code == 503


def test_ready_when_every_check_passes(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "schema": "ok", "signing_key": "ok"},
    }
    assert response.headers["cache-control"] == "no-store"
    assert client.head("/readyz").status_code == 200


def test_a_schema_behind_the_head_is_503_in_words_logged_once(
    client: TestClient, migrated: Database, caplog: pytest.LogCaptureFixture
) -> None:
    behind = one_behind_head()
    downgrade(migrated, behind)
    with caplog.at_level(logging.INFO):
        answers = [client.get("/readyz") for _ in range(5)]
    for response in answers:
        assert response.status_code == 503
        assert response.json() == {
            "status": "not ready",
            "checks": {
                "database": "ok",
                "schema": f"at revision {behind}, head is {revisions().head}: "
                "run gatehouse migrate",
                "signing_key": "not checked: the schema is not current",
            },
        }
        assert "Traceback" not in response.text
    logged = [r for r in caplog.records if r.name.startswith("broker")]
    assert [r.getMessage().split(" at ")[0] for r in logged] == ["not ready: schema: the database"]


def test_probes_are_neither_limited_nor_counted(client: TestClient, migrated: Database) -> None:
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
    with migrated.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(rate_limits)).scalar() == 0
