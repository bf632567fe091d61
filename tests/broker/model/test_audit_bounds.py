"""An audit event holds a small, fixed amount whatever it was built from
(broker/model/audit_bounds.py, applied by AuditEvent itself)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from broker.model.audit_bounds import (
    MAX_DETAIL_ENTRIES,
    MAX_DETAIL_TEXT,
    MAX_ENTRIES,
    MAX_ID,
    MAX_KEY,
    MAX_TEXT,
    MORE,
    bound_detail,
    bound_text,
)
from broker.model.records import AuditEvent

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HUGE = 30_000


def hostile_event(**changes: object) -> AuditEvent:
    event = AuditEvent(
        at=NOW,
        kind="login.failed",
        reason="unknown_connection\r\nlogin.succeeded" + "r" * HUGE,
        connection_id="con_" + "x" * HUGE + "\r\n",
        organization_id="o" * HUGE,
        flow_id="f" * HUGE,
        request_id="q" * HUGE,
        actor="a" * HUGE,
        detail={"detail": "a\r\nb" * HUGE, **{f"k{n}": n for n in range(HUGE // 100)}},
    )
    return replace(event, **changes)  # type: ignore[arg-type]


def stored_size(event: AuditEvent) -> int:
    fields = (event.id, event.kind, event.reason, event.organization_id, event.connection_id,
              event.flow_id, event.request_id, event.actor)  # fmt: skip
    return sum(len(f or "") for f in fields) + len(json.dumps(event.detail, ensure_ascii=False))


def test_every_field_of_an_event_is_capped() -> None:
    event = hostile_event()
    for name in ("connection_id", "organization_id", "flow_id", "request_id", "actor"):
        value = getattr(event, name)
        assert len(value) <= MAX_ID, name
        assert value.endswith(" more]"), name
    assert (event.connection_id or "").startswith("con_xxx")
    assert event.reason is not None
    assert len(event.reason) <= MAX_TEXT
    assert len(event.detail["detail"]) <= MAX_TEXT
    assert len(event.detail) <= MAX_ENTRIES
    assert event.detail[MORE] == 1 + HUGE // 100 - (MAX_ENTRIES - 1)
    assert stored_size(event) < 25_000


def test_control_characters_are_escaped_as_text() -> None:
    event = AuditEvent(
        at=NOW,
        kind="login.failed",
        reason="a\r\nb\x00c\x1bd\x7fe\x85f\u2028g\u202eh\ud800i",
        connection_id="con\n",
        detail={"key\nwith\tbreaks": ["x\ry", {"n\x00": "v\x9f"}]},
    )
    assert event.reason == "a\\x0d\\x0ab\\x00c\\x1bd\\x7fe\\x85f\\u2028g\\u202eh\\ud800i"
    assert event.connection_id == "con\\x0a"
    assert event.detail == {"key\\x0awith\\x09breaks": ["x\\x0dy", {"n\\x00": "v\\x9f"}]}
    text = json.dumps(event.detail, ensure_ascii=False) + (event.reason or "")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text)


def test_ordinary_values_are_kept_as_they_are() -> None:
    detail = {
        "user_id": "usr_123",
        "changed": ["entity_id", "sso_url", "certificates"],
        "draft": True,
        "uses": 3,
        "ratio": 0.5,
        "nothing": None,
        "name": "Société Générale — ünïcødé 🎉",
        "nested": {"a": [1, 2, {"b": "c"}]},
    }
    event = AuditEvent(at=NOW, kind="connection.updated", actor="cli", detail=detail)
    assert event.detail == detail
    assert event.actor == "cli"


def test_values_json_cannot_hold_become_bounded_text() -> None:
    """A detail is stored as JSON: anything else is written as its text, bounded too."""
    detail = bound_detail(
        {"at": NOW, "kinds": {"saml"}, "big": 2**60, "inf": float("inf"), "raw": b"x\n" * 400}
    )
    assert detail["at"] == "2026-03-01 12:00:00+00:00"
    assert detail["kinds"] == "{'saml'}"
    assert detail["big"] == "(a 61-bit integer)"
    assert detail["inf"] == "inf"
    assert detail["raw"].startswith("b'x\\nx\\n")
    assert len(detail["raw"]) <= MAX_TEXT
    assert detail["raw"].endswith(" more]")


def test_nesting_is_bounded_in_depth_and_in_entries() -> None:
    deep: object = "bottom"
    for _ in range(50):
        deep = {"d": [deep]}
    detail = bound_detail({"deep": deep, "wide": [list(range(100))] * 100})
    dumped = json.dumps(detail)
    assert dumped.count("[") + dumped.count("{") <= 10
    assert "left out" in dumped
    assert sum(1 for _ in _leaves(detail)) <= MAX_DETAIL_ENTRIES


def test_the_whole_detail_is_bounded_in_entries_and_text() -> None:
    detail = bound_detail({f"k{n}": {f"j{m}": "v" * 1000 for m in range(40)} for n in range(40)})
    assert _entries(detail) <= MAX_DETAIL_ENTRIES
    assert sum(len(s) for s in _leaves(detail) if isinstance(s, str)) <= MAX_DETAIL_TEXT + 100


def test_numbers_json_cannot_hold_exactly_become_text() -> None:
    detail = bound_detail({"big": 10**4000, "nan": float("nan"), "inf": float("-inf"), "ok": 2**52})
    assert detail == {
        "big": "(a 13288-bit integer)",
        "nan": "nan",
        "inf": "-inf",
        "ok": 2**52,
    }
    json.loads(json.dumps(detail, allow_nan=False))


def test_keys_are_capped() -> None:
    detail = bound_detail({"k" * 1000: 1})
    [key] = detail
    assert len(key) <= MAX_KEY


@pytest.mark.parametrize(
    "value",
    [
        "x" * 10_000,
        "\n" * 10_000,
        "ab\r\n" * 300,
        "é" * 501,
        "x" * 499 + "\n",
    ],
)
def test_text_is_capped_without_cutting_an_escape(value: str) -> None:
    bounded = bound_text(value, MAX_TEXT)
    assert len(bounded) <= MAX_TEXT
    kept = bounded.rsplit("…[", 1)[0]
    assert not kept.endswith(("\\", "\\x", "\\x0")), bounded[-30:]
    assert bound_text(bounded, MAX_TEXT) == bounded


def test_bounding_a_bounded_event_changes_nothing() -> None:
    """Events read back from the store are constructed, so bounded, again."""
    event = hostile_event(detail=_hostile_detail())
    assert replace(event) == event
    assert bound_detail(event.detail) == event.detail


def _hostile_detail() -> dict[str, object]:
    return {
        "a": [{"x": "v" * 900, "y": list(range(50))} for _ in range(40)],
        "b": {f"k{n}\n": "\x00" * 300 for n in range(60)},
        **{f"c{n}": "w" * 600 for n in range(40)},
    }


def _leaves(value: object):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _entries(value: object) -> int:
    if isinstance(value, dict):
        return sum(1 + _entries(v) for v in value.values())
    if isinstance(value, list):
        return sum(1 + _entries(v) for v in value)
    return 0
