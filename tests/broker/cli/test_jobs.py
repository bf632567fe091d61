"""`gatehouse jobs run` and `gatehouse jobs list`: the scheduled jobs from an external
scheduler (cron) or by hand, against a real SQLite file and the system clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.broker.cli.test_cli import run, store_for
from tests.support.certificates import certificate_pem, idp_metadata
from tests.support.saml_world import add_saml_connection


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gh.sqlite3'}",
        "GATEHOUSE_ISSUER": "http://127.0.0.1:8000",
    }


def test_jobs_run_runs_what_is_due_once_and_list_shows_the_schedule(env: dict[str, str]) -> None:
    run(env, "migrate")
    assert run(env, "jobs", "list") == "no job has run yet\n"
    now = datetime.now(UTC)
    certificate = certificate_pem(not_after=now + timedelta(days=3))
    metadata = idp_metadata("https://idp.example/saml", "https://idp.example/sso", certificate)
    add_saml_connection(store_for(env), idp_metadata=metadata, now=now)
    out = json.loads(run(env, "jobs", "run", "--json"))
    assert out == {
        "ran": [
            {"name": "domain_recheck", "ok": True, "summary": "{}"},
            {"name": "certificate_expiry", "ok": True, "summary": "{'7': 1}"},
            {"name": "saml_metadata_refresh", "ok": True, "summary": "{}"},
        ]
    }
    assert run(env, "jobs", "run") == "no job was due\n"  # cron every minute: nothing twice
    listed = json.loads(run(env, "jobs", "list", "--json"))["jobs"]
    assert [(j["name"], j["last_error"], j["leased_by"]) for j in listed] == [
        ("certificate_expiry", None, None),
        ("domain_recheck", None, None),
        ("saml_metadata_refresh", None, None),
    ]
    assert all(j["last_ok_at"] is not None for j in listed)
    text = run(env, "jobs", "list")
    assert "domain_recheck: next " in text
    assert "last ok never" not in text
