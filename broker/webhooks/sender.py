"""One attempt at one delivery: the signed request, through the outbound guard, and what
came of it. Nothing here touches the store; the worker records the outcome.

The body is `{"type", "timestamp", "data"}`, `data` being the event as the events API
answers it (so a receiver can parse both with one model). `webhook-id` is the event id:
a retry and a resend by hand carry the same one, and a receiver de-duplicates on it.
`webhook-timestamp` is the time of this attempt (receivers refuse old timestamps to stop
replays), from the injected clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from broker.model.records import AuditEvent
from broker.model.webhooks import EXCERPT_BYTES
from broker.upstream.outbound import OutboundError, OutboundPolicy, error_class, post_content
from broker.webhooks import signing

#: The event as the events API answers it (injected: the API's model is the web side's).
Render = Callable[[AuditEvent], Mapping[str, object]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


def body(event: AuditEvent, render: Render) -> bytes:
    payload = {"type": event.kind, "timestamp": event.at.isoformat(), "data": dict(render(event))}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def send(
    http: httpx.Client,
    policy: OutboundPolicy,
    *,
    url: str,
    event: AuditEvent,
    secrets: Sequence[str],
    now: datetime,
    render: Render,
) -> Outcome:
    """A 2xx answer delivers; anything else (another status, no answer within the deadline,
    a refused or closed connection, an address the guard refuses) is an `error` word and
    is tried again later."""
    content = body(event, render)
    headers = signing.headers(secrets, message_id=event.id, timestamp=now, body=content)
    started = time.monotonic()
    try:
        status, excerpt = post_content(
            http, url, policy=policy, content=content, headers=headers, excerpt_bytes=EXCERPT_BYTES
        )
    except OutboundError as exc:
        return Outcome(
            status_code=None, latency_ms=_since(started), excerpt=exc.detail[:200],
            error=error_class(exc),
        )  # fmt: skip
    text = excerpt.decode("utf-8", errors="replace")
    ok = 200 <= status < 300
    return Outcome(
        status_code=status, latency_ms=_since(started), excerpt=text, error=None if ok else "status"
    )


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
