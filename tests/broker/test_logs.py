"""`broker.logs`: values are escaped and capped when a record is made, one by one."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from broker import logs
from broker.app import create_app
from broker.errors import ConfigError
from broker.settings import parse_log_settings
from broker.store import Store
from broker.store.sql import SqlStore
from idp_simulator.keys import IdpKeys, generate
from tests.support.config import make_settings
from tests.support.databases import Database
from tests.support.saml_world import build_saml_world


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain", "plain"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("nul\x00esc\x1b[31m", "nul\\x00esc\\x1b[31m"),
        ("nel\x85 ls\u2028 ps\u2029", "nel\\x85 ls\\u2028 ps\\u2029"),
        ("tab\tdel\x7f", "tab\\x09del\\x7f"),
        ("ünïcode stays", "ünïcode stays"),
    ],
)
def test_control_characters_become_visible_text(value: str, shown: str) -> None:
    assert logs.escape(value) == shown


def test_long_values_are_cut_with_a_note() -> None:
    assert logs.escape("y" * 1500) == "y" * 1000 + "…[500 more]"


def test_installed_records_escape_their_arguments_but_keep_their_shape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logs.install()
    logs.install()  # idempotent: one wrapper
    logger = logging.getLogger("test.logs")

    class Odd:
        def __str__(self) -> str:
            return "line\nbreak"

    with caplog.at_level(logging.INFO, logger="test.logs"):
        logger.info("a=%s b=%r c=%d d=%s", "x\ny", "p\rq", 7, Odd())
    record = caplog.records[-1]
    # (a string shown with %r is escaped first, then quoted: its backslash doubles)
    assert record.getMessage() == "a=x\\x0ay b='p\\\\x0dq' c=7 d=line\\x0abreak"
    # uvicorn's access formatter unpacks its arguments by position: still a tuple of five.
    with caplog.at_level(logging.INFO, logger="test.logs"):
        logger.info('%s - "%s %s HTTP/%s" %d', "1.2.3.4", "GET", "/a\nb", "1.1", 200)
    args = caplog.records[-1].args
    assert isinstance(args, tuple)
    assert args[2] == "/a\\x0ab"
    assert args[4] == 200


def _logged(formatter: logging.Formatter, serve: Callable[[], httpx.Response]) -> tuple[str, str]:
    """The request's reference and every line the whole process logged while serving it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        response = serve()
    finally:
        root.removeHandler(handler)
    return response.headers["x-request-id"], stream.getvalue()


def _answer_for_no_connection(sqlite_database: Database, tmp_path: Path) -> httpx.Response:
    app = create_app(make_settings(tmp_path), store=SqlStore(sqlite_database.engine))
    response: httpx.Response = TestClient(app).post("/saml/nope/acs", data={"SAMLResponse": "x"})
    return response


def test_a_line_logged_while_serving_a_request_carries_its_reference(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """The reference a person reads from an error page finds the log lines of that request,
    in the format the CLI and `gatehouse serve` use."""
    reference, text = _logged(
        logs.TextFormatter(), lambda: _answer_for_no_connection(sqlite_database, tmp_path)
    )
    lines = [line for line in text.splitlines() if "unknown_connection" in line]
    assert lines
    assert all(f"[{reference}]" in line for line in lines)


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


def _json_lines(records: list[logging.LogRecord]) -> list[dict[str, object]]:
    formatter = logs.JsonFormatter()
    return [json.loads(formatter.format(record)) for record in records]


def test_a_json_line_has_the_fields_a_log_pipeline_filters_on(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """`GATEHOUSE_LOG_FORMAT=json`: one object per line with the time, level, logger and the
    request's reference."""
    reference, text = _logged(
        logs.JsonFormatter(), lambda: _answer_for_no_connection(sqlite_database, tmp_path)
    )
    found = [json.loads(line) for line in text.splitlines()]
    refusal = next(line for line in found if "unknown_connection" in str(line["message"]))
    assert refusal["request_id"] == reference
    assert refusal["level"] == "warning"
    assert refusal["logger"] == "broker.login.answers"  # the module that refuses it
    assert str(refusal["timestamp"]).endswith("Z")
    assert "organization_id" not in refusal  # an unknown connection is about nobody


def test_a_refused_login_logs_its_organization_and_connection(
    store: Store, tmp_path: Path, idp_keys: IdpKeys
) -> None:
    """A whole login against the SAML simulator, refused (wrong audience): its lines name the
    organization and connection it was about, so an operator filters one customer's."""
    world = build_saml_world(store, tmp_path, idp_keys)

    def refused_login() -> httpx.Response:
        _, back = world.login(scenario="wrong-audience")
        assert back.status_code == 400, back.text
        return back

    with world.gatehouse.client, world.idp:
        reference, text = _logged(logs.JsonFormatter(), refused_login)
    found = [json.loads(line) for line in text.splitlines()]
    refusal = next(line for line in found if line["request_id"] == reference)
    assert "wrong_audience" in str(refusal["message"])
    assert refusal["organization_id"] == world.organization.id
    assert refusal["connection_id"] == world.connection.id


def test_json_lines_carry_what_the_request_was_about_and_only_in_that_request() -> None:
    logs.install()
    logger = logging.getLogger("test.logs.json")

    def record(message: str) -> logging.LogRecord:
        return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None)

    def in_a_request() -> dict[str, object]:
        logs.about(organization_id="org_acme", connection_id="con_acme")
        return _json_lines([record("answer taken")])[0]

    line = contextvars.copy_context().run(in_a_request)
    assert (line["organization_id"], line["connection_id"]) == ("org_acme", "con_acme")
    outside = _json_lines([record("later")])[0]
    assert "organization_id" not in outside
    assert outside["request_id"] == "-"


def test_a_json_line_is_one_line_with_values_escaped_and_the_traceback_as_a_field() -> None:
    logs.install()
    logger = logging.getLogger("test.logs.json")
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    made = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "refused %s", ("a\nfake line",), exc_info
    )
    text = logs.JsonFormatter().format(made)
    assert "\n" not in text.replace("\\n", "")  # one physical line
    line = json.loads(text)
    assert line["message"] == "refused a\\x0afake line"
    assert "ValueError: boom" in str(line["exception"])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "text"),
        ({"GATEHOUSE_ENV": "production"}, "json"),
        ({"GATEHOUSE_ENV": "production", "GATEHOUSE_LOG_FORMAT": "text"}, "text"),
        ({"GATEHOUSE_LOG_FORMAT": "JSON"}, "json"),
    ],
)
def test_production_logs_json_unless_told_otherwise(environ: dict[str, str], expected: str) -> None:
    assert parse_log_settings(environ).format == expected


@pytest.mark.parametrize(
    ("environ", "variable"),
    [({"GATEHOUSE_LOG_FORMAT": "xml"}, "GATEHOUSE_LOG_FORMAT"),
     ({"GATEHOUSE_LOG_LEVEL": "loud"}, "GATEHOUSE_LOG_LEVEL")],
)  # fmt: skip
def test_a_bad_log_setting_names_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_log_settings(environ)
    assert refused.value.field == variable


def test_records_made_outside_a_request_say_so() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "started", (), None)
    assert "[-] started" in logs.TextFormatter().format(record)


@pytest.mark.parametrize(
    ("log_format", "formatter"), [("text", logs.TextFormatter), ("json", logs.JsonFormatter)]
)
def test_the_server_log_config_is_one_dictconfig_uvicorn_accepts(
    log_format: str, formatter: type[logging.Formatter]
) -> None:
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    try:
        config = uvicorn.Config(_app, log_config=logs.uvicorn_log_config("warning", log_format))
        config.configure_logging()  # raises on a config logging.config cannot apply
        formatters = [h.formatter for h in logging.getLogger().handlers]
        assert any(isinstance(f, formatter) for f in formatters)
        assert not logging.getLogger("uvicorn.access").handlers  # one line, via the root
    finally:
        for name, (handlers, level) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).setLevel(level)


async def _app(scope: object, receive: object, send: object) -> None:
    """An ASGI app that is never called (the config under test is logging's)."""
