"""`gatehouse jobs`: the scheduled jobs (broker.jobs) by hand or from an external scheduler.

Every serving instance already ticks every GATEHOUSE_JOBS_TICK_SECONDS; with that at 0,
run `gatehouse jobs run` from cron (every minute is fine: it runs only what is due, and
the same claim that keeps two instances apart keeps two cron hosts apart).
"""

from __future__ import annotations

import click

from broker.cli.root import cli, emit, open_broker


@cli.group()
def jobs() -> None:
    """Scheduled jobs: domain re-checks, certificate expiry notices."""


@jobs.command("run")
@click.option("--json", "as_json", is_flag=True)
def run(as_json: bool) -> None:
    """Run every job that is due now (and that no other instance holds)."""
    broker = open_broker()
    try:
        outcomes = broker.scheduler.run_due()
    finally:
        broker.close()
    ran = [{"name": o.name, "ok": o.ok, "summary": o.summary} for o in outcomes]
    lines = [f"{o.name}: {'ok' if o.ok else 'FAILED'} {o.summary}" for o in outcomes]
    emit(as_json, {"ran": ran}, lines or ["no job was due"])
    if any(not o.ok for o in outcomes):
        raise SystemExit(1)


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_jobs(as_json: bool) -> None:
    """Each job's schedule: next due, last success, last error, who holds it."""
    broker = open_broker()
    try:
        with broker.store.unit_of_work() as uow:
            runs = list(uow.job_runs.list())
    finally:
        broker.close()
    rows = [
        {
            "name": r.name,
            "next_run_at": r.next_run_at,
            "last_ok_at": r.last_ok_at,
            "last_error": r.last_error,
            "leased_by": r.leased_by,
            "leased_until": r.leased_until,
        }
        for r in runs
    ]
    lines = [
        f"{r.name}: next {r.next_run_at:%Y-%m-%d %H:%M} UTC, last ok "
        f"{r.last_ok_at.strftime('%Y-%m-%d %H:%M') if r.last_ok_at else 'never'}"
        f"{', last error: ' + r.last_error if r.last_error else ''}"
        for r in runs
    ]
    emit(as_json, {"jobs": rows}, lines or ["no job has run yet"])
