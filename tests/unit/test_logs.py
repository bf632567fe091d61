"""`broker.logs`: values are escaped and capped when a record is made, one by one."""

from __future__ import annotations

import logging

import pytest

from broker import logs


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
