"""The directory sync pages a browser GETs (admin_portal/directory_sync/), under hostile
input: any directory id in the path, any query (`vendor` among its fields), any headers,
with the live session's cookie or without. Never a 5xx or an ERROR line; with the session,
the organization's own directory and no stray cookie, always the page (or the small JSON
answer the waiting page asks). The forms (POST /directories, .../token) are fuzzed with
every portal form in test_portal_forms.py."""

from __future__ import annotations

import json

from hypothesis import given, strategies as st

from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.fuzz_world import FuzzWorld

_PAGES = ("", "/setup", "/requests/latest")


@fuzz(max_examples=120)
@given(
    page=st.sampled_from((*_PAGES, "list")),
    target=hostile.mostly(st.just("directory"), hostile.identifier()),
    query=hostile.fields({"vendor": st.sampled_from(("okta", "entra", "generic"))}),
    raw=st.booleans(),
    with_session=hostile.mostly(st.just(True), st.just(False)),
    headers=hostile.headers(),
)
def test_directory_pages(
    world: FuzzWorld,
    watch: Watch,
    page: str,
    target: str,
    query: list[hostile.Field],
    raw: bool,
    with_session: bool,
    headers: list[tuple[bytes, bytes]],
) -> None:
    watch.clear()
    if not world.portal_cookie:
        world.open_portal_session()
    if page == "list":
        path = b"/portal/directories"
    else:
        value = world.directory_id if target == "directory" else target
        path = b"/portal/directories/" + hostile.path_segment(value) + page.encode()
    encoded = hostile.encode(query, raw=raw)
    sent = [*headers, (b"cookie", world.portal_cookie.encode())] if with_session else headers
    answer = world.request("GET", path, headers=sent, query=encoded)
    watch.check(answer, f"GET {path!r}?{encoded!r}")
    cookie_sent = any(name.lower() == b"cookie" for name, _ in headers)
    if with_session and (page == "list" or target == "directory") and not cookie_sent:
        assert answer.status == 200, answer.text[:300]
        if page == "/requests/latest":
            assert set(json.loads(answer.body)) == {"latest"}
