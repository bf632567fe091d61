"""`broker.tracing`: whole logins through the in-process worlds, their spans caught by the
SDK's in-memory exporter on a provider of the test's own (never the process-wide one)."""

from __future__ import annotations

import builtins
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import broker
from broker import tracing
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.oidc_world import build_oidc_world
from tests.support.saml_world import build_saml_world


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.use(provider):
        yield exporter
    provider.shutdown()


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def _no_secrets_in(exporter: InMemorySpanExporter, *secrets: str) -> None:
    """No attribute of any span carries one of `secrets` (nor a full URL)."""
    for span in exporter.get_finished_spans():
        for key, value in (span.attributes or {}).items():
            for secret in secrets:
                assert secret not in str(value), (span.name, key)
            assert "://" not in str(value), (span.name, key)
            assert "?" not in str(value), (span.name, key)


def test_a_saml_login_is_one_span_per_step_with_its_connection_and_organization(
    store: Store, tmp_path: Path, idp_keys: IdpKeys, spans: InMemorySpanExporter
) -> None:
    world = build_saml_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        login, back = world.login()
        tokens = world.gatehouse.redeem(world.code_from(back), verifier=login.verifier)
    assert tokens.status_code == 200, tokens.text

    (authorize,) = _named(spans, "gatehouse.authorize")
    (callback,) = _named(spans, "gatehouse.callback")
    (token,) = _named(spans, "gatehouse.token")
    for step in (authorize, callback):
        assert step.attributes is not None
        assert step.attributes[tracing.CONNECTION_ID] == world.connection.id
        assert step.attributes[tracing.ORGANIZATION_ID] == world.organization.id
        assert step.status.status_code is StatusCode.UNSET
    assert callback.attributes is not None
    assert callback.attributes[tracing.OUTCOME] == "success"
    # Three requests of the browser, three traces: each step is a root.
    assert {s.parent for s in (authorize, callback, token)} == {None}
    body = tokens.json()
    _no_secrets_in(spans, world.email, body["access_token"], body["id_token"])


def test_an_oidc_login_nests_its_requests_to_the_idp_under_the_step_that_made_them(
    store: Store, tmp_path: Path, idp_keys: IdpKeys, spans: InMemorySpanExporter
) -> None:
    world = build_oidc_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        _, back = world.login()
    assert back.status_code == 302, back.text

    (authorize,) = _named(spans, "gatehouse.authorize")
    (callback,) = _named(spans, "gatehouse.callback")
    requests = _named(spans, "gatehouse.idp_request")
    under_callback = [r for r in requests if r.parent == callback.context]
    under_authorize = [r for r in requests if r.parent == authorize.context]
    # The hand-off fetches discovery; the callback at least redeems the IdP's code.
    assert under_authorize
    assert [r.attributes and r.attributes["http.request.method"] for r in under_callback].count(
        "POST"
    ) == 1
    assert len(under_authorize) + len(under_callback) == len(requests)
    for request in requests:
        assert request.context.trace_id == request.parent.trace_id  # type: ignore[union-attr]
        assert request.attributes is not None
        assert request.attributes["server.address"] == "idp.example.test"
        assert request.attributes[tracing.CONNECTION_ID] == world.connection.id
        assert request.attributes[tracing.OUTCOME] == "ok"
    code = back.headers["location"]
    _no_secrets_in(spans, world.email, code.split("code=")[1].split("&")[0])


def test_a_refused_login_has_its_reason_and_an_error_status(
    store: Store, tmp_path: Path, idp_keys: IdpKeys, spans: InMemorySpanExporter
) -> None:
    world = build_saml_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        _, back = world.login(scenario="wrong-audience")
    assert back.status_code == 400, back.text

    (callback,) = _named(spans, "gatehouse.callback")
    assert callback.attributes is not None
    assert callback.attributes[tracing.REASON] == "wrong_audience"
    assert callback.attributes[tracing.OUTCOME] == "refused"
    assert callback.attributes[tracing.CONNECTION_ID] == world.connection.id
    assert callback.status.status_code is StatusCode.ERROR
    # The status says no more than the attributes: no message that could quote a request.
    assert callback.status.description is None
    _no_secrets_in(spans, world.email)


def test_without_a_provider_nothing_is_traced(
    store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> None:
    exporter = InMemorySpanExporter()
    TracerProvider().add_span_processor(SimpleSpanProcessor(exporter))
    world = build_saml_world(store, tmp_path, idp_keys)
    with world.gatehouse.client, world.idp:
        _, back = world.login()
    assert back.status_code == 302, back.text
    assert exporter.get_finished_spans() == ()


def test_without_opentelemetry_installed_every_helper_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_opentelemetry(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("opentelemetry"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_opentelemetry)
    monkeypatch.setattr(broker, "tracing", tracing)  # restored, as the module below, at the end
    monkeypatch.setenv("GATEHOUSE_OTEL", "1")
    monkeypatch.delitem(sys.modules, "broker.tracing")
    try:
        bare = importlib.import_module("broker.tracing")
        assert not bare.available()
        bare.configure_from_environment()  # warns, and traces nothing
        with bare.step_span("callback"):
            bare.about(organization_id="org_a", connection_id="con_a")
            bare.refused("wrong_audience")
            bare.succeeded()
        with bare.idp_request("GET", "https://idp.test/x", "con_a") as outcome:
            outcome.append("ok")
    finally:
        monkeypatch.undo()


def test_gatehouse_otel_turns_tracing_on_with_the_exporters_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(tracing, "_tracer", None)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    tracing.configure_from_environment()
    assert not _tracing_on()  # not without GATEHOUSE_OTEL=1

    monkeypatch.setenv("GATEHOUSE_OTEL", "1")
    tracing.configure_from_environment()
    assert _tracing_on()

    monkeypatch.setattr(tracing, "_tracer", None)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "no-such-exporter")
    tracing.configure_from_environment()
    assert _tracing_on()  # on, its spans dropped, and the operator told why
    assert "no-such-exporter" in caplog.text
    assert "opentelemetry-exporter-otlp" in caplog.text


def _tracing_on() -> bool:
    return tracing._tracer is not None
