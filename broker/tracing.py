"""Optional OpenTelemetry spans: one per login step, one per request to an IdP.

The `otel` extra brings the OpenTelemetry API and SDK; without it every helper here is a
no-op, and so it is with it unless `GATEHOUSE_OTEL=1` (`configure_from_environment`) or a
caller hands in its own provider (`use`). The exporter is the operator's choice through
the standard `OTEL_*` variables (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_SDK_DISABLED`...); an exporter beyond the SDK's console one is a package the operator
installs (`opentelemetry-exporter-otlp`).

What a span carries is bounded like the metrics' labels and kept free of personal data: a
step's name, a connection and organization id, a `Reason` value, an HTTP method, the host of
an IdP's URL (never its path or query, which can carry a code or a login hint) and an
outcome. No email, token or full URL is ever an attribute, and an exception leaves only its
type: its message may quote what a request sent.

The current span lives in contextvars, which anyio copies into the worker threads the
login steps run in, so a step's span is the parent of the IdP requests made for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from broker.metrics.recording import IdpOutcome, Step
from broker.model.opaque import looks_like_id
from broker.model.reasons import parse_reason

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer, TracerProvider

log = logging.getLogger(__name__)

try:
    from opentelemetry import trace
    from opentelemetry.trace import Status, StatusCode
except ImportError:  # the `otel` extra is not installed: every helper is a no-op
    trace = None  # type: ignore[assignment]

CONNECTION_ID = "gatehouse.connection_id"
ORGANIZATION_ID = "gatehouse.organization_id"
REASON = "gatehouse.reason"
OUTCOME = "gatehouse.outcome"

#: The tracer spans are made with; None while tracing is off.
_tracer: Tracer | None = None


def available() -> bool:
    """Whether the OpenTelemetry API is installed (the `otel` extra)."""
    return trace is not None


@contextmanager
def use(provider: TracerProvider) -> Iterator[None]:
    """Spans made in the block go to `provider`, never the process-wide default one: a
    test's spans stay its own."""
    global _tracer
    previous = _tracer
    _tracer = provider.get_tracer("gatehouse")
    try:
        yield
    finally:
        _tracer = previous


def configure_from_environment() -> None:
    """With `GATEHOUSE_OTEL=1` and the extra installed, an SDK provider whose exporters
    `OTEL_TRACES_EXPORTER` names (default `otlp`; `none` for none), batched as the SDK's
    `OTEL_BSP_*` variables say. The SDK itself honours `OTEL_SDK_DISABLED` and
    `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` (the service is `gatehouse` unless
    named)."""
    global _tracer
    if os.environ.get("GATEHOUSE_OTEL") != "1":
        return
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("GATEHOUSE_OTEL=1 but the `otel` extra is not installed: no tracing")
        return
    provider = SdkProvider(resource=Resource.create({"service.name": "gatehouse"}))
    for name in _exporter_names():
        exporter = _exporter(name)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    _tracer = provider.get_tracer("gatehouse")


def _exporter_names() -> list[str]:
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp")
    return [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]


def _exporter(name: str) -> SpanExporter | None:
    """The exporter an installed package registers under `name` (the SDK's own entry-point
    group, as its auto-configuration uses: `console` ships with the SDK, `otlp` with
    `opentelemetry-exporter-otlp`)."""
    from importlib.metadata import entry_points

    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    if not found:
        log.warning(
            "OTEL_TRACES_EXPORTER names %r, which no installed package provides (for otlp: "
            "pip install opentelemetry-exporter-otlp): its spans are dropped",
            name,
        )
        return None
    exporter_class = next(iter(found)).load()
    return exporter_class()  # type: ignore[no-any-return]


# -- spans -------------------------------------------------------------------------------


@contextmanager
def step_span(name: Step | None) -> Iterator[None]:
    """One login step's span (`gatehouse.<step>`): its connection and organization are
    added as they become known (`about`), its reason if the login is refused (`refused`).
    None, for a route that is no login step, makes none."""
    if name is None:
        yield
        return
    with _span(f"gatehouse.{name}", {}):
        yield


@contextmanager
def idp_request(method: str, url: str, connection: str | None) -> Iterator[list[IdpOutcome]]:
    """One request to an IdP (`gatehouse.idp_request`): its method, its URL's host and
    how it ended, which the caller appends to the list it is given."""
    outcome: list[IdpOutcome] = []
    attributes = {"http.request.method": method, "server.address": urlsplit(url).hostname or ""}
    if connection is not None and looks_like_id(connection):
        attributes[CONNECTION_ID] = connection
    with _span("gatehouse.idp_request", attributes) as span:
        try:
            yield outcome
        finally:
            ended = outcome[-1] if outcome else "error"
            if span is not None:
                span.set_attribute(OUTCOME, ended)
                if ended != "ok":
                    span.set_status(Status(StatusCode.ERROR))


def about(*, organization_id: str | None = None, connection_id: str | None = None) -> None:
    """The connection and organization the current step turned out to be about."""
    span = _current()
    if span is None:
        return
    if organization_id is not None and looks_like_id(organization_id):
        span.set_attribute(ORGANIZATION_ID, organization_id)
    if connection_id is not None and looks_like_id(connection_id):
        span.set_attribute(CONNECTION_ID, connection_id)


def succeeded() -> None:
    span = _current()
    if span is not None:
        span.set_attribute(OUTCOME, "success")


def refused(recorded_reason: str) -> None:
    """The current step refused the login: its `Reason` (as the metrics count it: the
    IdP's own code after `idp_refused:` is the IdP's to choose) and an error status."""
    span = _current()
    if span is None:
        return
    reason = parse_reason(recorded_reason)
    value = reason.value if reason is not None else "unknown"
    span.set_attribute(OUTCOME, "refused")
    span.set_attribute(REASON, value)
    span.set_status(Status(StatusCode.ERROR))


@contextmanager
def _span(name: str, attributes: dict[str, str]) -> Iterator[Span | None]:
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            # The type only: the message may quote what a request sent.
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR))
            raise


def _current() -> Span | None:
    if _tracer is None:
        return None
    span = trace.get_current_span()
    return span if span.is_recording() else None
