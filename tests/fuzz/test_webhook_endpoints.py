"""`/api/v1/webhook-endpoints` under hostile input, with a token that may use it: any JSON
(or not JSON) as a body, any id in the path, any query. Never a 5xx, never an error log; a
URL the guard refuses is never stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, api_token, fuzz
from tests.support.fuzz_world import FuzzWorld

FIELDS = ("url", "event_types", "organization_id", "enabled", "overlap_seconds", "event_id")
URLS = (
    "https://hooks.example.com/in", "http://127.0.0.1:9/in", "http://10.0.0.1/in",
    "https://[::1]/", "https://169.254.169.254/", "https://xn--/", "https://h:99999/",
    "javascript:alert(1)", "https://a@b/", "",
)  # fmt: skip
PATTERNS = ("*", "connection.*", "login.*", "idp.*", "a" * 300, "domain.verified", "")

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), hostile.text(), st.sampled_from(URLS + PATTERNS),
)  # fmt: skip
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(("fields", "fields", "value", "bytes")))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    if shape == "value":
        return json.dumps(draw(json_value)).encode()
    drawn: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        drawn[name] = draw(
            st.one_of(
                json_value,
                st.sampled_from(URLS),
                st.lists(st.sampled_from(PATTERNS) | hostile.text(), max_size=4),
            )
        )
    return json.dumps(drawn, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@pytest.fixture
def token(world: FuzzWorld) -> str:
    return api_token(world, ["webhooks:read", "webhooks:write"])


@fuzz(max_examples=150)
@given(
    route=st.sampled_from(
        (
            ("POST", ""),
            ("GET", ""),
            ("GET", "/{id}"),
            ("PATCH", "/{id}"),
            ("DELETE", "/{id}"),
            ("POST", "/{id}/rotate-secret"),
            ("POST", "/{id}/revoke-previous-secret"),
            ("GET", "/{id}/deliveries"),
            ("GET", "/{id}/deliveries/{id}"),
            ("POST", "/{id}/resend"),
        )
    ),
    use_real_id=st.booleans(),
    some_id=hostile.identifier(),
    body=bodies(),
    query=hostile.text(),
    content_type=st.sampled_from((b"application/json", b"text/plain", b"")),
)
def test_webhook_endpoints(
    world: FuzzWorld,
    watch: Watch,
    token: str,
    route: tuple[str, str],
    use_real_id: bool,
    some_id: str,
    body: bytes,
    query: str,
    content_type: bytes,
) -> None:
    watch.clear()
    real = world.broker.management.webhooks.create(
        "fuzz", url="https://hooks.example.com/in", event_types=["*"]
    ).endpoint.id
    method, template = route
    segment = real if use_real_id else hostile.path_segment(some_id).decode("latin-1")
    path = "/api/v1/webhook-endpoints" + template.replace("{id}", segment)
    headers = [(b"authorization", f"Bearer {token}".encode())]
    if content_type:
        headers.append((b"content-type", content_type))
    answer = world.request(
        method, path, query=hostile.encode([("cursor", query)]), headers=headers, body=body
    )
    watch.check(answer, f"{method} {path} {body[:200]!r}")
    if method == "POST" and template == "" and answer.status == 201:
        url = json.loads(answer.text)["url"]
        assert url.startswith(("https://", "http://127.0.0.1")), url
