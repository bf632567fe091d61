"""`gatehouse purge`: what an operator runs when the background purge is off (or to see
what it does), against a real SQLite file."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broker.store.purge import PurgeCounts
from tests.broker.cli.test_cli import run, store_for
from tests.support.expiring import add_dead_rows, add_tenant, row_counts

TABLES = [f.name for f in fields(PurgeCounts)]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gh.sqlite3'}",
        "GATEHOUSE_ISSUER": "http://127.0.0.1:8000",
    }


def test_purge_removes_what_has_expired_and_says_how_much(env: dict[str, str]) -> None:
    run(env, "migrate")
    store = store_for(env)
    # Dead a second ago by the system clock, which the command uses.
    now = datetime.now(UTC) - timedelta(seconds=1)
    add_tenant(store, now=now)
    baseline = row_counts(store)
    add_dead_rows(store, 3, now=now)
    out = json.loads(run(env, "purge", "--json"))
    assert out == {"purged": dict.fromkeys(TABLES, 3), "total": 3 * len(TABLES)}
    assert row_counts(store) == baseline
    text = run(env, "purge").splitlines()
    assert [line.split() for line in text] == [[table, "0"] for table in [*TABLES, "total"]]
    store.engine.dispose()
