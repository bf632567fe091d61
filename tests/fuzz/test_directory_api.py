"""`/api/v1/directories` under hostile input, with a token that may use it: any JSON (or
not JSON) as a body, any id in the path, any query. Never a 5xx, never an error log; a
directory is only ever created for an organization that exists, and no read ever answers a
token (M-05: it is shown once, by the create or rotate answer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, api_token, fuzz
from tests.support.fuzz_world import FuzzWorld

FIELDS = ("organization_id", "name", "link_key", "overlap_seconds")
VALUES = ("email", "external_id", "subject", "EMAIL", "", "org_nope", 86_400, -1, 10**12)
QUERIES = ("organization_id", "cursor", "limit", "start_index", "count")

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), hostile.text(), st.sampled_from(VALUES),
)  # fmt: skip
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def bodies(draw: st.DrawFn, organization_id: str) -> bytes:
    shape = draw(st.sampled_from(("fields", "fields", "value", "bytes")))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    if shape == "value":
        return json.dumps(draw(json_value)).encode()
    drawn: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        drawn[name] = draw(st.one_of(json_value, st.just(organization_id)))
    return json.dumps(drawn, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@pytest.fixture
def token(world: FuzzWorld) -> str:
    return api_token(world, ["directories:read", "directories:write"])


@fuzz(max_examples=150)
@given(
    route=st.sampled_from(
        (
            ("POST", ""),
            ("GET", ""),
            ("GET", "/{id}"),
            ("DELETE", "/{id}"),
            ("POST", "/{id}/rotate-token"),
            ("POST", "/{id}/revoke-tokens"),
            ("GET", "/{id}/users"),
            ("GET", "/{id}/groups"),
            ("GET", "/{id}/requests"),
        )
    ),
    use_real_id=st.booleans(),
    some_id=hostile.identifier(),
    data=st.data(),
    query_name=st.sampled_from(QUERIES),
    query=hostile.text(),
    content_type=st.sampled_from((b"application/json", b"text/plain", b"")),
)
def test_directory_api(
    world: FuzzWorld,
    watch: Watch,
    token: str,
    route: tuple[str, str],
    use_real_id: bool,
    some_id: str,
    data: st.DataObject,
    query_name: str,
    query: str,
    content_type: bytes,
) -> None:
    watch.clear()
    method, template = route
    segment = world.directory_id if use_real_id else hostile.path_segment(some_id)
    if isinstance(segment, bytes):
        segment = segment.decode("latin-1")
    path = "/api/v1/directories" + template.replace("{id}", segment)
    headers = [(b"authorization", f"Bearer {token}".encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    body = data.draw(bodies(world.organization_id))
    answer = world.request(
        method, path, query=hostile.encode([(query_name, query)]), headers=headers, body=body
    )
    watch.check(answer, f"{method} {path} {body[:200]!r}")
    if method == "GET":
        assert "gh_scim_" not in answer.text
    if method == "POST" and template == "" and answer.status == 201:
        assert json.loads(answer.text)["organization_id"] == world.organization_id
