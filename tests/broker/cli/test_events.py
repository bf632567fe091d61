"""`gatehouse events list` and `events follow`: the audit log through the use case the
management API's `/events` calls, against a real SQLite file. `follow` is run with a short
interval and a bound, while another thread records events, so it ends and it is seen
printing what arrived after it started."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from broker.cli import cli
from broker.model.records import AuditEvent
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run

__all__ = ["env"]  # the fixture, re-used


@contextmanager
def audit_log(env: dict[str, str]) -> Iterator[SqlStore]:
    store = SqlStore(make_engine(Settings.from_env(env).database.url))
    try:
        yield store
    finally:
        store.engine.dispose()


def login_failed(store: SqlStore, org: str, request_id: str, at: datetime) -> AuditEvent:
    """A failed login, as the login service records it (no actor, a reason, a reference)."""
    event = AuditEvent(at=at, kind="login.failed", reason="email_outside_verified_domains",
                       organization_id=org, request_id=request_id,
                       detail={"domain": "acme.test"})  # fmt: skip
    with store.unit_of_work() as uow:
        uow.audit.record(event)
    return event


def items(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(run(env, "events", "list", *args, "--json"))[
        "items"
    ]
    return found


def test_list_is_newest_first_with_the_apis_fields(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    with audit_log(env) as store:
        failed = login_failed(store, org, "req-1", at)
    newest, created = items(env)
    assert newest == {
        "id": failed.id,
        "at": at.isoformat().replace("+00:00", "Z"),
        "type": "login.failed",
        "reason": "email_outside_verified_domains",
        "actor": None,
        "organization_id": org,
        "connection_id": None,
        "request_id": "req-1",
        "detail": {"domain": "acme.test"},
    }
    assert (created["type"], created["actor"], created["organization_id"]) == (
        "organization.created",
        "cli",
        org,
    )
    text = run(env, "events", "list").splitlines()
    assert text[0].split("  ")[1:] == [
        "login.failed", "email_outside_verified_domains", org, "-", "ref=req-1",
    ]  # fmt: skip
    assert text[1].endswith("organization.created  -  " + org + "  -  by=cli")


def test_list_filters_by_type_organization_reference_and_limit(env: dict[str, str]) -> None:
    acme, globex = create_org(env, "Acme", "cus_1"), create_org(env, "Globex")
    now = datetime.now(UTC)
    with audit_log(env) as store:
        login_failed(store, acme, "req-a", now - timedelta(seconds=2))
        login_failed(store, globex, "req-b", now - timedelta(seconds=1))
    assert [e["request_id"] for e in items(env, "--type", "login.failed")] == ["req-b", "req-a"]
    assert [e["type"] for e in items(env, "--type", "organization.*")] == [
        "organization.created"
    ] * 2
    assert [e["request_id"] for e in items(env, "--org", "cus_1", "--type", "login.*")] == ["req-a"]
    assert [e["organization_id"] for e in items(env, "--reference", "req-b")] == [globex]
    assert items(env, "--reference", "req-nobody") == []
    assert len(items(env, "--limit", "1")) == 1
    # Events outlive their organization: a deleted one's id still filters.
    run(env, "orgs", "delete", globex, "--yes")
    deleted, *before = [str(e["type"]) for e in items(env, "--org", globex)]
    assert deleted == "organization.deleted"
    assert sorted(before) == ["login.failed", "organization.created"]
    assert run(env, "events", "list", "--reference", "req-nobody") == "no events\n"


def test_list_refuses_a_malformed_type(env: dict[str, str]) -> None:
    assert "an event type (login.failed)" in refused(env, "events", "list", "--type", "Login!")


def test_follow_prints_the_backlog_then_each_new_event_once(env: dict[str, str]) -> None:
    org = create_org(env, "Acme")
    start = datetime.now(UTC)
    with audit_log(env) as store:
        login_failed(store, org, "req-0", start)

        def record_later() -> None:
            time.sleep(0.5)
            login_failed(store, org, "req-1", datetime.now(UTC))
            # Stamped before the newest printed one (another instance's clock is behind):
            # still printed, once.
            login_failed(store, org, "req-2", start - timedelta(seconds=1))
            time.sleep(0.5)
            login_failed(store, org, "req-3", datetime.now(UTC))

        writer = threading.Thread(target=record_later)
        writer.start()
        result = CliRunner().invoke(
            cli,
            ["events", "follow", "--type", "login.failed", "--limit", "1",
             "--interval", "0.1", "--max-events", "4", "--timeout", "20", "--json"],
            env=env,
            catch_exceptions=False,
        )  # fmt: skip
        writer.join()
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["request_id"] for e in printed] == ["req-0", "req-2", "req-1", "req-3"]
    assert all(e["type"] == "login.failed" for e in printed)


def test_follow_ends_at_its_timeout(env: dict[str, str]) -> None:
    create_org(env, "Acme")
    began = time.monotonic()
    out = run(env, "events", "follow", "--interval", "0.1", "--timeout", "0.5")
    assert 0.5 <= time.monotonic() - began < 10
    [line] = out.splitlines()
    assert "organization.created" in line


def test_follow_without_a_backlog_prints_only_what_is_new(env: dict[str, str]) -> None:
    """An event recorded just before following began is not new, though it is within the
    window each poll looks back over."""
    org = create_org(env, "Acme")
    with audit_log(env) as store:
        login_failed(store, org, "req-old", datetime.now(UTC))

        def record_later() -> None:
            time.sleep(0.5)
            login_failed(store, org, "req-new", datetime.now(UTC))

        writer = threading.Thread(target=record_later)
        writer.start()
        out = run(env, "events", "follow", "--limit", "0", "--interval", "0.1",
                  "--max-events", "1", "--timeout", "20")  # fmt: skip
        writer.join()
    [line] = out.splitlines()
    assert line.endswith("ref=req-new")


def test_export_writes_a_window_oldest_first_as_the_api_does(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    with audit_log(env) as store:
        recorded = [
            login_failed(store, org, f"req-{n}", start + timedelta(seconds=n)) for n in range(3)
        ]
    out = run(env, "events", "export", "--since", "2026-01-01T09:00:00",
              "--until", "2026-01-01T09:00:02+00:00", "--org", "cus_1")  # fmt: skip
    exported = [json.loads(line) for line in out.splitlines()]
    assert [e["id"] for e in exported] == [recorded[0].id, recorded[1].id]
    assert exported[0]["request_id"] == "req-0"
    assert exported[0]["type"] == "login.failed"


def test_export_refuses_a_window_not_yet_over(env: dict[str, str]) -> None:
    run(env, "migrate")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    message = refused(env, "events", "export", "--since", "2026-01-01", "--until", tomorrow)
    assert "the window must be over" in message
