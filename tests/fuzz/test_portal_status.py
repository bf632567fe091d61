"""The test status a waiting portal page asks (admin_portal/trial_status.py), under hostile
input: any connection id in the path, any query, any headers, with the live session's cookie
or without. Never a 5xx or an ERROR line; with the session and one of the organization's
own connections, always the small JSON answer."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.fuzz_world import FuzzWorld


@fuzz(max_examples=120)
@given(
    target=hostile.mostly(st.sampled_from(("saml", "oidc", "in_setup")), hostile.identifier()),
    query=hostile.fields({}),
    raw=st.booleans(),
    with_session=hostile.mostly(st.just(True), st.just(False)),
    headers=hostile.headers(),
)
def test_portal_test_status(
    world: FuzzWorld,
    watch: Watch,
    target: str,
    query: list[hostile.Field],
    raw: bool,
    with_session: bool,
    headers: list[tuple[bytes, bytes]],
) -> None:
    watch.clear()
    if not world.portal_cookie:
        world.open_portal_session()
    ours = {"saml": world.saml.id, "oidc": world.oidc.id, "in_setup": world.in_setup.id}
    value = ours.get(target, target)
    path = b"/portal/connections/" + hostile.path_segment(value) + b"/tests/latest"
    encoded = hostile.encode(query, raw=raw)
    sent = [*headers, (b"cookie", world.portal_cookie.encode())] if with_session else headers
    answer = world.request("GET", path, headers=sent, query=encoded)
    watch.check(answer, f"GET {path!r}?{encoded!r}")
    cookie_sent = any(name.lower() == b"cookie" for name, _ in headers)
    if with_session and target in ours and not cookie_sent:
        assert answer.status == 200, answer.text[:300]
        assert set(json.loads(answer.body)) == {"latest"}
