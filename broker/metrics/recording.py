"""The metrics Gatehouse keeps, and the one function that records each.

Every label value is bounded by code or configuration, never by a request: a protocol is a
registered connector kind, a reason a `Reason` member, a connection id one of the configured
connections, a route class, a step and a table are names from this code. No email, URL,
user id or anything a request chooses becomes a label value: each value is a time series
for as long as the process lives, so one a caller could choose would let anyone grow the
scrape without bound, and would carry personal data into the monitoring system.

Metrics are process-wide, as Prometheus' client keeps them: an app built by a test records
into the same counters as the one before it (tests compare a scrape before and after).
Under `gatehouse serve --workers N`, prometheus_client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, set by `broker.metrics.workers` before any worker starts) keeps
each worker's values in a file, and a scrape adds them up (`broker.metrics.exposition`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

from prometheus_client import Counter, Histogram

from broker.model.opaque import looks_like_id
from broker.model.reasons import Reason, parse_reason

#: A label value for what is not known (a refusal before any connection was found).
UNKNOWN = "unknown"

Step = Literal["authorize", "login", "callback", "token"]
STEPS: tuple[Step, ...] = ("authorize", "login", "callback", "token")
RouteClass = Literal["authorize", "login", "callback", "token", "portal_link", "api"]
IdpOutcome = Literal["ok", "timeout", "error", "bulkhead_full", "circuit_open"]

#: 5 ms to 10 s: a step that answers from the database takes milliseconds; one that waits on
#: an IdP (discovery, a token endpoint) may take seconds, up to the upstream deadline (10 s).
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

LOGINS = Counter(
    "gatehouse_logins",
    "Logins that ended, by the connection's protocol, outcome (success, refused) and reason "
    "(a Reason value; none for a success).",
    ["protocol", "outcome", "reason"],
)
STEP_SECONDS = Histogram(
    "gatehouse_login_step_seconds",
    "Time to answer one step of a login: authorize (the hand-off or the email page), login "
    "(the email page's and chooser's posts), callback (the IdP's answer taken), token.",
    ["step"],
    buckets=STEP_BUCKETS,
)
IDP_REQUESTS = Counter(
    "gatehouse_idp_requests",
    "Requests to customers' IdPs by connection id (setup for an admin's setup fetches) and "
    "outcome: ok, timeout, error (no usable answer: unreachable, refused by the outbound "
    "guard, a server error, a document that could not be fetched), or refused before any "
    "request by the connection's bulkhead (bulkhead_full) or open circuit (circuit_open).",
    ["connection", "outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "gatehouse_webhook_attempts",
    "Webhook delivery attempts by outcome: delivered (a 2xx answer), status (another "
    "answer), timeout, connection (refused, reset, closed, TLS), refused (by the outbound "
    "guard), secret (the signing secret could not be decrypted). Kept apart from "
    "gatehouse_idp_requests: an app's receiver is not a customer's IdP.",
    ["outcome"],
)
#: The attempt outcomes (`WebhookAttempt.error`, or `delivered`): a bounded label.
WEBHOOK_OUTCOMES = ("delivered", "status", "timeout", "connection", "refused", "secret")
RATE_LIMITED = Counter(
    "gatehouse_rate_limited",
    "Requests refused by a rate limit, by route class.",
    ["route"],
)
PURGED_ROWS = Counter(
    "gatehouse_purged_rows",
    "Expired rows the purge deleted, by table.",
    ["table"],
)

for _step in STEPS:  # every step's series exists from the start, at zero
    STEP_SECONDS.labels(step=_step)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_ATTEMPTS.labels(outcome=_outcome)


def login_succeeded(protocol: str) -> None:
    LOGINS.labels(protocol=protocol, outcome="success", reason="none").inc()


def login_refused(protocol: str | None, recorded_reason: str) -> None:
    """`recorded_reason` as events store it: `idp_refused:<code>` counts as `idp_refused`,
    since the code after the colon is the IdP's to choose."""
    reason = parse_reason(recorded_reason)
    LOGINS.labels(
        protocol=protocol or UNKNOWN,
        outcome="refused",
        reason=reason.value if reason is not None else UNKNOWN,
    ).inc()


def login_step(step: Step, seconds: float) -> None:
    STEP_SECONDS.labels(step=step).observe(seconds)


def rate_limited(route: RouteClass) -> None:
    RATE_LIMITED.labels(route=route).inc()


def purged(counts: Mapping[str, int]) -> None:
    """One purge run's counts per table (a zero too, so every table's series exists)."""
    for table, count in counts.items():
        PURGED_ROWS.labels(table=table).inc(count)


def webhook_attempt(error: str | None) -> None:
    """One webhook attempt settled: `error` as the attempt records it, None if delivered."""
    outcome = "delivered" if error is None else error
    WEBHOOK_ATTEMPTS.labels(outcome=outcome if outcome in WEBHOOK_OUTCOMES else UNKNOWN).inc()


# -- requests to IdPs ----------------------------------------------------------------------

#: The bulkhead key of the operation running in this thread: the outbound guard counts each
#: request under it without being told which connection it serves.
_calling: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "gatehouse_metrics_idp", default=None
)


@contextmanager
def calls_to(key: str) -> Iterator[None]:
    """Requests made in the block are counted for `key` (a bulkhead's slot)."""
    token = _calling.set(key)
    try:
        yield
    finally:
        _calling.reset(token)


def current_slot() -> str | None:
    """The bulkhead key requests made here are counted for (`calls_to`), for their spans."""
    return _calling.get()


def idp_request(outcome: IdpOutcome) -> None:
    """One request made by the outbound guard, for the slot it runs in. A webhook's
    request is not an IdP's: the worker counts its attempts (`webhook_attempt`)."""
    key = _calling.get()
    if _is_webhook(key):
        return
    IDP_REQUESTS.labels(connection=_connection_label(key), outcome=outcome).inc()


def idp_refused(key: str, reason: Reason) -> None:
    """An operation the bulkhead of `key` refused before any request (`IDP_BUSY`, or
    `IDP_CIRCUIT_OPEN`). A webhook endpoint's full slots are not an IdP's: a delivery
    handed back waits its turn, and is no attempt."""
    if _is_webhook(key):
        return
    outcome: IdpOutcome = "bulkhead_full" if reason is Reason.IDP_BUSY else "circuit_open"
    IDP_REQUESTS.labels(connection=_connection_label(key), outcome=outcome).inc()


#: The bulkhead keys of webhook endpoints (`broker.webhooks.worker`): `webhook:<endpoint>`.
WEBHOOK_SLOT = "webhook:"


def _is_webhook(key: str | None) -> bool:
    return key is not None and key.startswith(WEBHOOK_SLOT)


def _connection_label(key: str | None) -> str:
    """A connection's id, or the kind of a slot that is not one (`setup:<organization>` is
    `setup`: the organization is not a label here)."""
    if key is None:
        return "none"
    kind, colon, _ = key.partition(":")
    if colon:
        return kind if kind.isidentifier() else UNKNOWN
    return key if looks_like_id(key) else UNKNOWN
