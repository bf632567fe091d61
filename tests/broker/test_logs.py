"""`broker.logs`: values are escaped and capped when a record is made, one by one."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from broker import logs
from broker.app import create_app
from broker.store.sql import SqlStore
from tests.support.config import make_settings
from tests.support.databases import Database


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


def test_a_line_logged_while_serving_a_request_carries_its_reference(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """The reference a person reads from an error page finds the log lines of that request,
    in the format the CLI and `gatehouse serve` use."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        app = create_app(make_settings(tmp_path), store=SqlStore(sqlite_database.engine))
        response = TestClient(app).post("/saml/nope/acs", data={"SAMLResponse": "x"})
    finally:
        root.removeHandler(handler)
    reference = response.headers["x-request-id"]
    lines = [line for line in stream.getvalue().splitlines() if "unknown_connection" in line]
    assert lines
    assert all(f"[{reference}]" in line for line in lines)


def test_records_made_outside_a_request_say_so() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "started", (), None)
    assert "[-] started" in logs.TextFormatter().format(record)


def test_the_server_log_config_is_one_dictconfig_uvicorn_accepts() -> None:
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    try:
        config = uvicorn.Config(_app, log_config=logs.uvicorn_log_config("warning"))
        config.configure_logging()  # raises on a config logging.config cannot apply
        formatters = [h.formatter for h in logging.getLogger().handlers]
        assert any(isinstance(f, logs.TextFormatter) for f in formatters)
        assert not logging.getLogger("uvicorn.access").handlers  # one line, via the root
    finally:
        for name, (handlers, level) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).setLevel(level)


async def _app(scope: object, receive: object, send: object) -> None:
    """An ASGI app that is never called (the config under test is logging's)."""
