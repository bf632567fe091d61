"""The database a benchmark runs on: a SQLite file, or a throwaway PostgreSQL schema,
migrated to head and dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.errors import BenchSetupError
from broker.store.sql import make_engine, migrate
from broker.store.sql.migrate import upgrade_to_head


@contextmanager
def fresh_database(var_dir: Path, database_url: str | None) -> Iterator[tuple[str, str]]:
    """(URL every process opens, label for the report), migrated to head."""
    if database_url is None:
        url = f"sqlite:///{var_dir / 'gatehouse.sqlite3'}"
        engine = make_engine(url)
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()
        yield url, "SQLite (file, WAL)"
        return
    with throwaway_schema(database_url) as schema:
        yield with_search_path(database_url, schema), f"PostgreSQL (schema {schema})"


def with_search_path(url: str, schema: str) -> str:
    """`url` with libpq `options` making `schema` the search path of every connection, so a
    process configured only by GATEHOUSE_DATABASE_URL uses the benchmark's schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise BenchSetupError("--database-url must be a postgresql+psycopg:// URL")
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    """A new schema `gh_bench_<hex>`, migrated; dropped with everything in it on exit."""
    with ExitStack() as stack:
        try:
            schema = stack.enter_context(
                migrate.throwaway_schema(url, prefix="gh_bench", migrated=True)
            )
        except sa.exc.OperationalError as exc:
            raise BenchSetupError(f"PostgreSQL not usable: {exc.orig}") from exc
        yield schema
