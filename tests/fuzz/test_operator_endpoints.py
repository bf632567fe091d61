"""The endpoints an operator's tools call, under hostile input: `/healthz` and `/readyz` (load
balancers and orchestrators, often unauthenticated on the network) and `/metrics` (the
scraper's bearer token). Any method, query and headers; the token right, near or anything."""

from __future__ import annotations

from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.fuzz_world import METRICS_TOKEN, FuzzWorld


@fuzz(max_examples=80)
@given(
    method=st.sampled_from(("GET", "HEAD", "POST", "OPTIONS", "DELETE")),
    path=st.sampled_from(("/healthz", "/readyz", "/metrics")),
    query=hostile.text(),
    token=st.one_of(
        st.just(METRICS_TOKEN),
        st.sampled_from((METRICS_TOKEN + "x", METRICS_TOKEN[:-1], METRICS_TOKEN.upper(), "")),
        hostile.identifier(),
    ),
    scheme=st.sampled_from(("Bearer ", "bearer ", "Basic ", "")),
    headers=hostile.headers(),
)
def test_operator_endpoints(
    world: FuzzWorld,
    watch: Watch,
    method: str,
    path: str,
    query: str,
    token: str,
    scheme: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    watch.clear()
    authorization = hostile.wire(scheme + token).replace(b"\r\n", b"")
    sent = [*headers, (b"authorization", authorization)]
    answer = world.request(method, path, query=hostile.encode([("q", query)]), headers=sent)
    watch.check(answer, f"{method} {path} {scheme}{token!r}")
    if path == "/metrics" and answer.status == 200:
        # Only the operator's token opens it, and only as a bearer token.
        assert scheme.lower() == "bearer ", scheme
        assert token == METRICS_TOKEN, token
