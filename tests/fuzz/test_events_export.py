"""`/api/v1/events/export` under hostile queries, with a token that may read events: any
value (or repeat) of `since`, `until`, `cursor`, `limit`, `type` and `organization_id`.
Never a 5xx, never an error log; a 200 is NDJSON, one JSON object per line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, api_token, fuzz
from tests.support.fuzz_world import FuzzWorld

NAMES = ("since", "until", "cursor", "limit", "type", "organization_id")
VALUES = (
    "2026-01-01T00:00:00Z", "2025-12-31T23:59:59+00:00", "2026-01-01T12:00:00",
    "2999-01-01T00:00:00Z",
    "0", "10000", "10001", "-1", "1e400", "login.*", "*", "", "eyJ9", "W10", "WzFd",
)  # fmt: skip


@pytest.fixture
def token(world: FuzzWorld) -> str:
    return api_token(world, ["events:read"])


@fuzz(max_examples=150)
@given(
    pairs=st.lists(
        st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES) | hostile.text()), max_size=8
    )
)
def test_events_export(
    world: FuzzWorld, watch: Watch, token: str, pairs: list[tuple[str, str]]
) -> None:
    watch.clear()
    answer = world.request(
        "GET",
        "/api/v1/events/export",
        query=hostile.encode(pairs),
        headers=[(b"authorization", f"Bearer {token}".encode())],
        body=b"",
    )
    watch.check(answer, f"export {pairs!r}")
    if answer.status == 200:
        assert answer.header("content-type") == "application/x-ndjson"
        for line in answer.text.splitlines():
            assert isinstance(json.loads(line), dict)
