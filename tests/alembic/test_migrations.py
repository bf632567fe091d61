"""The migrations build exactly the schema `tables.metadata` describes, on both backends,
and can be undone. Each test starts from an empty database of its own (a fresh SQLite file
or a fresh PostgreSQL schema), not the session's shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from broker.store.sql import make_engine
from broker.store.sql.migrate import alembic_config, downgrade_to_base, upgrade_to_head
from broker.store.sql.tables import metadata
from tests.conftest import BACKENDS
from tests.support import databases

VERSION_TABLE = "alembic_version"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(databases.sqlite_url(tmp_path / "empty.sqlite3"))
        try:
            yield engine
        finally:
            engine.dispose()
        return
    url: str = request.getfixturevalue("postgres_url")
    with databases.throwaway_schema(url, migrated=False) as schema:
        engine = make_engine(url, schema=schema)
        try:
            yield engine
        finally:
            engine.dispose()


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def schema_drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_upgrade_creates_every_table(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == set(metadata.tables) | {VERSION_TABLE}


def test_migrated_schema_matches_the_metadata(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    assert schema_drift(empty_engine) == []


def test_downgrade_to_base_then_upgrade_again(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    downgrade_to_base(empty_engine)
    assert table_names(empty_engine) == {VERSION_TABLE}
    upgrade_to_head(empty_engine)
    assert table_names(empty_engine) == set(metadata.tables) | {VERSION_TABLE}
    assert schema_drift(empty_engine) == []


def test_migrations_run_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine(databases.sqlite_url(tmp_path / "elsewhere.sqlite3"))
    try:
        upgrade_to_head(engine)
        assert VERSION_TABLE in table_names(engine)
    finally:
        engine.dispose()


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        step = command.downgrade if down else command.upgrade
        step(alembic_config(connection), revision)


def seed_0001_rows(engine: Engine) -> None:
    """Rows as a 0001 database holds them (only 0001's columns are named)."""
    tables = metadata.tables
    with engine.begin() as connection:
        connection.execute(
            tables["organizations"].insert(),
            [
                {"id": "org_a", "name": "A", "external_id": "ext-a", "created_at": NOW},
                {"id": "org_b", "name": "B", "external_id": None, "created_at": NOW},
                {"id": "org_c", "name": "C", "external_id": None, "created_at": NOW},
            ],
        )
        connection.execute(
            tables["domains"].insert().values(name="a.test", organization_id="org_a")
        )
        connection.execute(
            tables["flows"]
            .insert()
            .values(id="flow-1", request={}, connector_state=b"s", created_at=NOW, expires_at=NOW)
        )


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(name))
            ).scalar_one()
            for name in ("organizations", "domains", "flows")
        }


def test_0002_keeps_existing_rows_both_ways(empty_engine: Engine) -> None:
    """0002 must not recreate `organizations` on SQLite: with foreign keys on, dropping the
    old table would cascade into domains and connections."""
    migrate_to(empty_engine, "0001")
    seed_0001_rows(empty_engine)
    expected = {"organizations": 3, "domains": 1, "flows": 1}
    migrate_to(empty_engine, "0002")
    assert row_counts(empty_engine) == expected
    with empty_engine.connect() as connection:
        binding = connection.execute(sa.text("SELECT browser_binding FROM flows")).scalar_one()
    assert binding is None
    migrate_to(empty_engine, "0001", down=True)
    assert row_counts(empty_engine) == expected


def test_0002_fails_whole_on_duplicate_external_ids(empty_engine: Engine) -> None:
    migrate_to(empty_engine, "0001")
    seed_0001_rows(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(sa.text("UPDATE organizations SET external_id = 'ext-a'"))
    with pytest.raises(sa.exc.IntegrityError):
        migrate_to(empty_engine, "0002")
    assert "replay_cache" not in table_names(empty_engine)  # transactional: nothing half-done


def test_0003_lets_several_organizations_claim_a_name_but_one_verify_it(
    empty_engine: Engine,
) -> None:
    migrate_to(empty_engine, "0002")
    seed_0001_rows(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(sa.text("UPDATE domains SET verified_at = :at"), {"at": NOW})
    migrate_to(empty_engine, "0003")
    domains = metadata.tables["domains"]
    with empty_engine.begin() as connection:
        # 0003's columns only: later revisions add some (0009: verified_by).
        columns = ("organization_id", "name", "verified_at", "verification_token", "created_at")
        [kept] = connection.execute(sa.select(*(domains.c[n] for n in columns))).mappings()
        assert (kept["organization_id"], kept["name"]) == ("org_a", "a.test")
        assert kept["created_at"] == kept["verified_at"]
        assert kept["verification_token"] is None
        connection.execute(domains.insert().values(organization_id="org_b", name="a.test"))
    with pytest.raises(sa.exc.IntegrityError), empty_engine.begin() as connection:
        connection.execute(
            domains.update().where(domains.c.organization_id == "org_b").values(verified_at=NOW)
        )
    migrate_to(empty_engine, "0002", down=True)
    with empty_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT organization_id, name FROM domains")).all()
    assert [tuple(row) for row in rows] == [("org_a", "a.test")]  # the unverified twin goes


def seed_0003_rows(engine: Engine) -> None:
    """Rows as a 0003 database holds them: connections with their identities and portal
    links (only 0003's columns are named)."""
    seed_0001_rows(engine)
    tables = metadata.tables
    connections = [
        {
            "id": f"con_{org}",
            "organization_id": f"org_{org}",
            "kind": "saml",
            "name": f"IdP {org}",
            "config": {"entity_id": f"https://idp.{org}.test"},
            "domains": [],
            "active": True,
            "version": 1,
            "created_at": NOW,
        }
        for org in ("a", "b")
    ]
    identities = [
        {
            "id": f"usr_{org}",
            "organization_id": f"org_{org}",
            "connection_id": f"con_{org}",
            "idp_subject": "ann",
            "email": None,
            "created_at": NOW,
            "last_login_at": NOW,
        }
        for org in ("a", "b")
    ]
    links = [
        {
            "id": f"pl_{kind}",
            "organization_id": "org_a",
            "token_hash": f"hash-{kind}",
            "profile_id": None,
            "connection_id": connection_id,
            "enabled_features": ["sso"],
            "max_uses": 1,
            "uses": 0,
            "expires_at": NOW,
            "revoked_at": None,
            "created_at": NOW,
            "created_by": "cli",
        }
        for kind, connection_id in (("new", None), ("edit", "con_a"))
    ]
    with engine.begin() as connection:
        connection.execute(tables["connections"].insert(), connections)
        connection.execute(tables["identities"].insert(), identities)
        connection.execute(tables["portal_links"].insert(), links)


def counts(engine: Engine, *names: str) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(name))
            ).scalar_one()
            for name in names
        }


def column_names(engine: Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns(table)}


def test_0004_keeps_connections_identities_and_portal_links_both_ways(
    empty_engine: Engine,
) -> None:
    """The downgrade must not rebuild `connections` on SQLite: with foreign keys on (as
    the engine sets them), dropping the old table would cascade into identities and portal
    links."""
    kept = ("organizations", "connections", "identities", "portal_links", "flows")
    migrate_to(empty_engine, "0003")
    seed_0003_rows(empty_engine)
    expected = {
        "organizations": 3,
        "connections": 2,
        "identities": 2,
        "portal_links": 2,
        "flows": 1,
    }
    assert counts(empty_engine, *kept) == expected
    migrate_to(empty_engine, "0004")
    assert counts(empty_engine, *kept) == expected
    tables = metadata.tables
    with empty_engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        nulls = "SELECT COUNT(*) FROM {} WHERE {} IS NULL"
        assert connection.exec_driver_sql(nulls.format("connections", "draft")).scalar() == 2
        assert connection.exec_driver_sql(nulls.format("flows", "test")).scalar() == 1
        # What 0004 adds, so the downgrade has rows to drop.
        connection.execute(
            tables["connections"]
            .update()
            .where(tables["connections"].c.id == "con_a")
            .values(draft={"entity_id": "https://new.a.test"})
        )
        connection.execute(
            tables["flows"]
            .update()
            .values(test={"portal_session": "s", "use_draft": True, "config_digest": "d"})
        )
        connection.execute(
            tables["portal_sessions"]
            .insert()
            .values(
                id_hash="sh_1",
                organization_id="org_a",
                link_id="pl_edit",
                features=["sso"],
                connection_id="con_a",
                csrf_token="c",
                created_at=NOW,
                last_seen_at=NOW,
                expires_at=NOW,
            )
        )
        connection.execute(
            tables["connection_tests"]
            .insert()
            .values(
                id="ct_1",
                organization_id="org_a",
                connection_id="con_a",
                config_digest="d",
                passed=True,
                report={},
                created_at=NOW,
            )
        )
    migrate_to(empty_engine, "0003", down=True)
    assert counts(empty_engine, *kept) == expected
    assert "draft" not in column_names(empty_engine, "connections")
    assert "test" not in column_names(empty_engine, "flows")
    assert not {"portal_sessions", "connection_tests"} & table_names(empty_engine)
    connections = tables["connections"]
    with empty_engine.connect() as connection:
        config = connection.execute(
            sa.select(connections.c.config).where(connections.c.id == "con_a")
        ).scalar_one()
    assert config == {"entity_id": "https://idp.a.test"}
    migrate_to(empty_engine, "0004")
    assert counts(empty_engine, *kept) == expected


def test_0006_gives_clients_a_previous_secret_and_a_disabled_time_both_ways(
    empty_engine: Engine,
) -> None:
    """Existing clients keep their one secret and stay enabled; the downgrade keeps them."""
    migrate_to(empty_engine, "0005")
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO clients (client_id, name, secret_hash, redirect_uris, created_at) "
                "VALUES ('auth0', 'Auth0', 'h1', '[]', :at)"
            ),
            {"at": NOW},
        )
        connection.execute(
            sa.text(
                "INSERT INTO management_clients (client_id, name, secret_hash, scopes, "
                "created_at) VALUES ('mc_1', 'backend', 'h2', '[]', :at)"
            ),
            {"at": NOW},
        )
    migrate_to(empty_engine, "0006")
    for table in ("clients", "management_clients"):
        assert {"previous_secret_hash", "disabled_at"} <= column_names(empty_engine, table)
        with empty_engine.begin() as connection:
            row = connection.execute(
                sa.text(f"SELECT previous_secret_hash, disabled_at FROM {table}")  # noqa: S608
            ).one()
            assert tuple(row) == (None, None)
            connection.execute(
                sa.text(f"UPDATE {table} SET previous_secret_hash = 'old', disabled_at = :at"),  # noqa: S608
                {"at": NOW},
            )
    migrate_to(empty_engine, "0005", down=True)
    for table, secret_hash in (("clients", "h1"), ("management_clients", "h2")):
        assert not {"previous_secret_hash", "disabled_at"} & column_names(empty_engine, table)
        with empty_engine.connect() as connection:
            kept = connection.execute(sa.text(f"SELECT secret_hash FROM {table}")).scalar_one()  # noqa: S608
        assert kept == secret_hash


def test_0007_keeps_existing_clients_on_the_page_both_ways(empty_engine: Engine) -> None:
    """A client registered before 0007 keeps what its people saw: the refusal page (now
    with its way back); the downgrade drops only the new column."""
    migrate_to(empty_engine, "0006")
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO clients (client_id, name, secret_hash, redirect_uris, created_at) "
                "VALUES ('auth0', 'Auth0', 'h1', '[]', :at)"
            ),
            {"at": NOW},
        )
    migrate_to(empty_engine, "0007")
    with empty_engine.begin() as connection:
        kept = connection.execute(sa.text("SELECT on_refusal FROM clients")).scalar_one()
        assert kept == "page"
        connection.execute(sa.text("UPDATE clients SET on_refusal = 'redirect'"))
    migrate_to(empty_engine, "0006", down=True)
    assert "on_refusal" not in column_names(empty_engine, "clients")
    with empty_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM clients")).scalar_one() == "Auth0"


def test_0009_backfills_how_domains_were_verified_and_drops_only_its_own_both_ways(
    empty_engine: Engine,
) -> None:
    """A domain verified before 0009 gets the method of its latest kept `domain.verified`
    event (so one asserted by the app team is never re-checked by DNS); one without such
    an event stays NULL (not re-checked). The downgrade drops the jobs' tables and the
    column, and keeps the domains."""
    migrate_to(empty_engine, "0007")
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO organizations (id, name, created_at) VALUES ('o', 'O', :at)"),
            {"at": NOW},
        )
        for name in ("dns.test", "asserted.test", "old.test", "claimed.test"):
            verified = None if name == "claimed.test" else NOW
            connection.execute(
                sa.text(
                    "INSERT INTO domains (organization_id, name, verified_at, "
                    "verification_token, created_at) VALUES ('o', :name, :at, 't', :now)"
                ),
                {"name": name, "at": verified, "now": NOW},
            )
        events = [
            ("e1", "dns.test", "operator_assertion", NOW),
            ("e2", "dns.test", "dns", NOW.replace(hour=13)),  # the latest one counts
            ("e3", "asserted.test", "operator_assertion", NOW),
            ("e4", "claimed.test", "dns", NOW),  # unverified since: stays NULL
        ]
        for event_id, name, reason, at in events:
            connection.execute(
                sa.text(
                    "INSERT INTO audit_events (id, at, kind, organization_id, reason, detail) "
                    "VALUES (:id, :at, 'domain.verified', 'o', :reason, :detail)"
                ),
                {"id": event_id, "at": at, "reason": reason, "detail": f'{{"domain": "{name}"}}'},
            )
    migrate_to(empty_engine, "0009")
    with empty_engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT name, verified_by FROM domains")).all()
    methods: dict[str, str | None] = dict(rows)
    assert methods == {
        "dns.test": "dns",
        "asserted.test": "operator_assertion",
        "old.test": None,
        "claimed.test": None,
    }
    assert {"job_runs", "domain_rechecks", "certificate_notices"} <= table_names(empty_engine)
    migrate_to(empty_engine, "0007", down=True)
    assert not {"job_runs", "domain_rechecks", "certificate_notices"} & table_names(empty_engine)
    assert "verified_by" not in column_names(empty_engine, "domains")
    assert counts(empty_engine, "domains") == {"domains": 4}


def test_0008_adds_the_webhook_tables_and_removes_only_them(empty_engine: Engine) -> None:
    """The outbox and deliveries reference audit events that existed before; the
    downgrade drops the four new tables and keeps the events."""
    migrate_to(empty_engine, "0007")
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO audit_events (id, at, kind, detail) "
                "VALUES ('evt_1', :at, 'organization.created', '{}')"
            ),
            {"at": NOW},
        )
    migrate_to(empty_engine, "0008")
    webhook_tables = {
        "webhook_endpoints",
        "webhook_outbox",
        "webhook_deliveries",
        "webhook_attempts",
    }
    assert webhook_tables <= table_names(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO webhook_outbox (event_id, at) VALUES ('evt_1', :at)"),
            {"at": NOW},
        )
    migrate_to(empty_engine, "0007", down=True)
    assert not webhook_tables & table_names(empty_engine)
    with empty_engine.connect() as connection:
        kind = connection.execute(sa.text("SELECT kind FROM audit_events")).scalar_one()
    assert kind == "organization.created"


def test_0010_adds_the_metadata_refresh_tables_and_drops_only_them_both_ways(
    empty_engine: Engine,
) -> None:
    """Connections stored before 0010 are kept as they are (no `metadata_url`: not
    refreshed); the new rows go with their connection, and the downgrade drops only the
    two tables."""
    migrate_to(empty_engine, "0009")
    seed_0003_rows(empty_engine)
    migrate_to(empty_engine, "0010")
    assert {"saml_certificate_use", "saml_metadata_refreshes"} <= table_names(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO saml_certificate_use (connection_id, fingerprint, last_verified_at) "
                "VALUES ('con_a', 'AB:CD', :at)"
            ),
            {"at": NOW},
        )
        connection.execute(
            sa.text(
                "INSERT INTO saml_metadata_refreshes (connection_id, next_fetch_at) "
                "VALUES ('con_a', :at)"
            ),
            {"at": NOW},
        )
    with empty_engine.connect() as connection:
        config = connection.execute(
            sa.text("SELECT config FROM connections WHERE id = 'con_a'")
        ).scalar_one()
    assert "metadata_url" not in str(config)
    migrate_to(empty_engine, "0009", down=True)
    assert not {"saml_certificate_use", "saml_metadata_refreshes"} & table_names(empty_engine)
    assert counts(empty_engine, "connections") == {"connections": 2}
