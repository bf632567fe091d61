"""`gatehouse webhooks ...`: webhook endpoints from the command line, through the same use
cases and answer fields as the management API; `gatehouse worker` runs the background jobs
(webhook delivery, the scheduled jobs, the purge) without serving HTTP."""

from __future__ import annotations

from datetime import timedelta

import click

from broker import logs
from broker.cli.api_json import api_json
from broker.cli.root import CLI_ACTOR, cli, emit, management, open_broker
from broker.management.api.webhooks import (
    DeliveryDetail,
    DeliveryOut,
    EndpointOut,
    EndpointWithSecret,
    attempt_out,
    delivery_out,
    endpoint_out,
)
from broker.management.webhooks import EndpointChange
from broker.model.webhooks import WebhookDelivery, WebhookEndpoint
from broker.web.lifespan import run_in_foreground

_PAGE = 100


@cli.group("webhooks")
def webhooks() -> None:
    """Endpoints Gatehouse sends signed events to (Standard Webhooks)."""


def _line(e: EndpointOut) -> str:
    state = "enabled" if e.enabled else f"disabled ({e.disabled_reason or 'by hand'})"
    scope = f" org {e.organization_id}" if e.organization_id else ""
    return f"{e.id}  {state}  {e.url}  {','.join(e.event_types)}{scope}"


@webhooks.command("create")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help="Repeat: an event type, a family (connection.*) or *.",
)
@click.option("--org", "organization_id", default=None, help="Only this organization's events.")
@click.option("--disabled", is_flag=True, help="Register it without sending yet.")
@click.option("--json", "as_json", is_flag=True)
def webhooks_create(
    url: str, events: tuple[str, ...], organization_id: str | None, disabled: bool, as_json: bool
) -> None:  # fmt: skip
    """Register URL and print its signing secret: shown only this once."""
    with management() as use_cases:
        issued = use_cases.webhooks.create(
            CLI_ACTOR, url=url, event_types=list(events), organization_id=organization_id,
            enabled=not disabled,
        )  # fmt: skip
    out = EndpointWithSecret.model_validate(
        endpoint_out(issued.endpoint) | {"secret": issued.secret}
    )
    emit(as_json, api_json(out), [issued.secret, "", _line(out),
         "Store the secret now: it is shown only this once."])  # fmt: skip


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True)
def webhooks_list(as_json: bool) -> None:
    """Every endpoint, oldest first (never a secret)."""
    found: list[WebhookEndpoint] = []
    with management() as use_cases:
        while True:
            after = (found[-1].created_at, found[-1].id) if found else None
            page = use_cases.webhooks.page(after=after, limit=_PAGE)
            found += page
            if len(page) < _PAGE:
                break
    items = [EndpointOut.model_validate(endpoint_out(e)) for e in found]
    emit(as_json, {"items": [api_json(i) for i in items]},
         [_line(i) for i in items] or ["no webhook endpoints"])  # fmt: skip


@webhooks.command("update")
@click.argument("endpoint_id")
@click.option("--url", default=None)
@click.option("--event", "events", multiple=True, help="Repeat; replaces the event types.")
@click.option("--org", "organization_id", default=None, help='An organization id, or "".')
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--json", "as_json", is_flag=True)
def webhooks_update(
    endpoint_id: str, url: str | None, events: tuple[str, ...], organization_id: str | None,
    enabled: bool | None, as_json: bool,
) -> None:  # fmt: skip
    """Change an endpoint; enabling one Gatehouse disabled starts its failure count afresh."""
    change = EndpointChange(
        url=url, event_types=list(events) or None, organization_id=organization_id,
        enabled=enabled,
    )  # fmt: skip
    with management() as use_cases:
        changed = use_cases.webhooks.update(CLI_ACTOR, endpoint_id, change)
    out = EndpointOut.model_validate(endpoint_out(changed))
    emit(as_json, api_json(out), [_line(out)])


@webhooks.command("delete")
@click.argument("endpoint_id")
def webhooks_delete(endpoint_id: str) -> None:
    """Delete an endpoint with its deliveries."""
    with management() as use_cases:
        use_cases.webhooks.delete(CLI_ACTOR, endpoint_id)
    click.echo(f"deleted {endpoint_id}")


@webhooks.command("rotate-secret")
@click.argument("endpoint_id")
@click.option(
    "--overlap-hours",
    type=click.IntRange(0, 168),
    default=24,
    show_default=True,
    help="How long the previous secret keeps signing beside the new one.",
)
@click.option("--json", "as_json", is_flag=True)
def webhooks_rotate(endpoint_id: str, overlap_hours: int, as_json: bool) -> None:
    """A new signing secret, printed once; both are sent until the overlap ends."""
    with management() as use_cases:
        issued = use_cases.webhooks.rotate_secret(
            CLI_ACTOR, endpoint_id, overlap=timedelta(hours=overlap_hours)
        )
    out = EndpointWithSecret.model_validate(
        endpoint_out(issued.endpoint) | {"secret": issued.secret}
    )
    emit(as_json, api_json(out), [issued.secret, "",
         f"the previous secret signs too until {out.previous_secret_expires_at}"])  # fmt: skip


@webhooks.command("revoke-previous-secret")
@click.argument("endpoint_id")
def webhooks_revoke_previous(endpoint_id: str) -> None:
    """End a rotation's overlap now."""
    with management() as use_cases:
        use_cases.webhooks.revoke_previous_secret(CLI_ACTOR, endpoint_id)
    click.echo(f"{endpoint_id}: only the current secret signs")


@webhooks.command("deliveries")
@click.argument("endpoint_id")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def webhooks_deliveries(endpoint_id: str, limit: int, as_json: bool) -> None:
    """The endpoint's latest deliveries, newest first."""
    with management() as use_cases:
        found: list[WebhookDelivery] = list(
            use_cases.webhooks.deliveries(endpoint_id, before=None, limit=limit)
        )
    items = [DeliveryOut.model_validate(delivery_out(d)) for d in found]
    emit(as_json, {"items": [api_json(i) for i in items]}, [
        f"{d.id}  {d.status}  {d.attempts} attempts  event {d.event_id}"
        + ("  (resent)" if d.manual else "") for d in items
    ] or ["no deliveries"])  # fmt: skip


@webhooks.command("attempts")
@click.argument("endpoint_id")
@click.argument("delivery_id")
@click.option("--json", "as_json", is_flag=True)
def webhooks_attempts(endpoint_id: str, delivery_id: str, as_json: bool) -> None:
    """Every attempt of one delivery: time, status, latency, error, the answer's start."""
    with management() as use_cases:
        delivery, attempts = use_cases.webhooks.delivery(endpoint_id, delivery_id)
    detail = DeliveryDetail.model_validate(
        delivery_out(delivery) | {"attempt_log": [attempt_out(a) for a in attempts]}
    )
    lines = [
        f"{a.at.isoformat()}  {a.status_code or '-'}  {a.latency_ms} ms  {a.error or 'delivered'}"
        f"  {a.response_excerpt[:80]!r}"
        for a in detail.attempt_log
    ]
    emit(as_json, api_json(detail), lines or ["no attempts yet"])


@webhooks.command("resend")
@click.argument("endpoint_id")
@click.argument("event_id")
def webhooks_resend(endpoint_id: str, event_id: str) -> None:
    """Deliver a past event again, now, with its own id as webhook-id."""
    with management() as use_cases:
        delivery = use_cases.webhooks.resend(CLI_ACTOR, endpoint_id, event_id)
    click.echo(f"queued {delivery.id}")


@cli.command("worker")
def worker() -> None:
    """Run the background jobs (webhook delivery, the scheduled jobs, the purge) without
    serving HTTP, until SIGINT or SIGTERM. Every `gatehouse serve` runs them too; this is
    for an operator who wants them in a process of their own."""
    logs.install()
    broker = open_broker()
    try:
        run_in_foreground(broker.background_jobs())
    finally:
        broker.close()
