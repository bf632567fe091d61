"""`/scim/v2/{directory_id}/...` under hostile input: any method and path, the directory's
token, another directory's or garbage, any query (filters, paging numerals, attribute
lists), any body (SCIM-shaped users, groups and PATCHes with hostile values, any JSON,
any bytes). Never a 5xx, never an error log, always a SCIM media type; a user the service
answered 201 for is stored, one it refused is not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, strategies as st

from broker.management.directories import IssuedToken
from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.fuzz_world import FuzzWorld

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PATHS = (
    "Users", "Groups", "Users/{id}", "Groups/{id}", "ServiceProviderConfig", "Schemas",
    "ResourceTypes", "Schemas/" + USER, "Bulk", "Me", ".search", "Users/.search", "",
    "Users/{id}/x", "..%2fUsers",
)  # fmt: skip
FILTERS = (
    'userName eq "a"', 'emails co "@"', "active eq \"False\"", 'members[value eq "x"]',
    "(" * 40, 'userName eq "' + "\\" * 5 + '"', "title pr", 'userName sw ""',
    " or ".join(['displayName eq "x"'] * 30), "userName eq 1", "userName gt null",
)  # fmt: skip
OPS = ("add", "Add", "replace", "Replace", "remove", "Remove", "copy", "", None)
OP_PATHS = (
    "active", "members", 'members[value eq "x"]', 'emails[type eq "work"].value', "userName",
    "name.givenName", "", "emails[", "meta.created", "id", "urn:x:y:z",
)  # fmt: skip

json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), hostile.text(), st.sampled_from(("True", "False", "")),
)  # fmt: skip
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    shape = draw(st.sampled_from(("user", "group", "patch", "patch", "value", "bytes")))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    if shape == "value":
        return json.dumps(draw(json_value)).encode()
    drawn: dict[str, Any]
    if shape == "user":
        drawn = {
            "schemas": draw(st.sampled_from(([USER], [], ["urn:x"], [USER, "http://x/y"]))),
            "userName": draw(json_scalar),
            "active": draw(json_scalar),
            "emails": draw(
                st.lists(
                    st.dictionaries(st.sampled_from(("value", "type", "primary")), json_scalar),
                    max_size=3,
                )
            ),
            "externalId": draw(json_scalar),
        }
    elif shape == "group":
        drawn = {
            "schemas": [GROUP],
            "displayName": draw(json_scalar),
            "members": draw(
                st.lists(
                    st.dictionaries(st.sampled_from(("value", "display", "$ref")), json_scalar),
                    max_size=3,
                )
            ),
        }
    else:
        operations = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "op": st.sampled_from(OPS),
                        "path": st.sampled_from(OP_PATHS) | hostile.text(),
                    },
                    optional={"value": json_value},
                ),
                max_size=4,
            )
        )
        drawn = {"schemas": [PATCH], "Operations": operations}
    return json.dumps(drawn, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@pytest.fixture
def directories(world: FuzzWorld) -> tuple[IssuedToken, IssuedToken]:
    management = world.broker.management.directories
    other_org = world.organization("Other").id
    ours = management.create("fuzz", organization_id=world.organization_id, name="Okta")
    theirs = management.create("fuzz", organization_id=other_org, name="Entra")
    return ours, theirs


@fuzz(max_examples=200)
@given(
    method=st.sampled_from(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")),
    path=st.sampled_from(PATHS),
    token=st.sampled_from(("ours", "ours", "ours", "theirs", "garbage", "none")),
    some_id=hostile.identifier(),
    body=bodies(),
    scim_filter=st.sampled_from(FILTERS) | hostile.text(),
    paging=st.tuples(hostile.numeral(), hostile.numeral()),
    content_type=st.sampled_from(
        (b"application/scim+json", b"application/json", b"text/plain", b"")
    ),
)
def test_scim_endpoints(
    world: FuzzWorld,
    watch: Watch,
    directories: tuple[IssuedToken, IssuedToken],
    method: str,
    path: str,
    token: str,
    some_id: str,
    body: bytes,
    scim_filter: str,
    paging: tuple[str, str],
    content_type: bytes,
) -> None:
    watch.clear()
    ours, theirs = directories
    segment = hostile.path_segment(some_id).decode("latin-1")
    target = f"/scim/v2/{ours.directory.id}/" + path.replace("{id}", segment)
    headers: list[tuple[bytes, bytes]] = []
    value = {"ours": ours.token, "theirs": theirs.token, "garbage": some_id, "none": None}[token]
    if value is not None:
        headers.append((b"authorization", b"Bearer " + value.encode("utf-8", "surrogatepass")))
    if content_type:
        headers.append((b"content-type", content_type))
    query = hostile.encode(
        [("filter", scim_filter), ("startIndex", paging[0]), ("count", paging[1])]
    )
    with world.store.unit_of_work() as uow:
        before = uow.directory_users.count(ours.directory.id)
    answer = world.request(method, target, query=query, headers=headers, body=body)
    watch.check(answer, f"{method} {target} {body[:200]!r}")
    if answer.status != 405 and method not in ("HEAD", "OPTIONS"):
        assert (answer.header("content-type") or "").startswith("application/scim+json"), (
            answer.status
        )
    with world.store.unit_of_work() as uow:
        after = uow.directory_users.count(ours.directory.id)
    if method == "POST" and path == "Users" and answer.status == 201:
        assert after == before + 1
    elif method == "POST" or token != "ours":
        assert after == before, (answer.status, answer.text[:300])


@pytest.mark.parametrize("rest", ["Users/%0A0", "Users/abc%0A", "Groups/%0D%0Ax/y"])
def test_a_newline_in_the_path_is_still_answered_by_scim(
    world: FuzzWorld, directories: tuple[IssuedToken, IssuedToken], rest: str
) -> None:
    """Found by the case above: Starlette's `path` convertor (`.*`) stops at a newline, so
    such a path matched no route and got the HTML 404 page."""
    ours, _ = directories
    answer = world.request(
        "GET",
        f"/scim/v2/{ours.directory.id}/{rest}",
        headers=[(b"authorization", b"Bearer " + ours.token.encode())],
    )
    assert answer.status == 404
    assert (answer.header("content-type") or "").startswith("application/scim+json")
