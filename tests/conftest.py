"""Fixtures every test may use. Logic lives in tests/support; this file only declares.

`store` (and `engine`, `database`) run each test that uses them on SQLite and, marked
`postgres`, on PostgreSQL: one behaviour, proven on both backends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from broker.store.sql import SqlStore
from tests.support import databases
from tests.support.config import ISSUER
from tests.support.databases import Database
from tests.support.private_ca import OnPremisesIdp, PrivateCa, on_premises_idp, private_ca
from tests.support.tiers import missing_dependency

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# The assertions every tier makes with a scenario table's row: pytest's detailed failure
# messages for them too. Nothing imported above loads the module.
pytest.register_assert_rewrite("tests.support.scenario_checks")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = databases.postgres_url()
    problem = databases.postgres_problem(url)
    if problem is not None:
        missing_dependency(problem)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return databases.migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_schema(postgres_url: str) -> Iterator[str]:
    with databases.throwaway_schema(postgres_url, migrated=True) as schema:
        yield schema


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    with databases.sqlite_copy(sqlite_template, tmp_path) as database:
        yield database


@pytest.fixture
def postgres_database(postgres_url: str, postgres_schema: str) -> Iterator[Database]:
    with databases.emptied_after(postgres_url, postgres_schema) as database:
        yield database


@pytest.fixture
def sqlite_engine(sqlite_database: Database) -> Engine:
    return sqlite_database.engine


@pytest.fixture
def postgres_engine(postgres_database: Database) -> Engine:
    return postgres_database.engine


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Database:
    backend: Database = request.getfixturevalue(f"{request.param}_database")
    return backend


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine


@pytest.fixture
def store(engine: Engine) -> SqlStore:
    return SqlStore(engine)


@pytest.fixture(scope="session")
def company_ca() -> PrivateCa:
    """A customer's own certificate authority, which no public bundle trusts."""
    return private_ca("Example Corp Root CA")


@pytest.fixture(scope="session")
def company_idp(
    company_ca: PrivateCa, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OnPremisesIdp]:
    """The IdP simulator on the customer's network: served over real TLS on loopback with a
    certificate `company_ca` issued."""
    folder = tmp_path_factory.mktemp("company-idp")
    with on_premises_idp(company_ca, folder, broker_issuer=ISSUER) as served:
        yield served
