"""Ids from a request that no id of ours can be (a NUL in them, spaces, non-ASCII), found by
the fuzz tier (tests/fuzz): answered as unknown, never looked up. On PostgreSQL each was a
500 ("text fields cannot contain NUL"); on both backends, the same refusal as a made-up id.
And a query string with a raw byte that is not UTF-8, which Starlette could not decode."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.support.harness import Harness
from tests.support.raw_asgi import raw_client

NOT_IDS = ["\x00", "con_\x00", "a b", "é" * 4, "x" * 300]


def failures(gatehouse: Harness) -> list[tuple[str | None, str | None]]:
    with gatehouse.store.unit_of_work() as uow:
        events = uow.audit.list(kind="login.failed")
        return [(e.reason, e.connection_id) for e in events]


@pytest.mark.parametrize("client_id", NOT_IDS)
def test_authorize_with_a_client_id_that_cannot_be_one_shows_the_page(
    gatehouse: Harness, client_id: str
) -> None:
    response = gatehouse.authorize(gatehouse.new_login(client_id=client_id))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "not valid" in response.text


@pytest.mark.parametrize("hint", ["connection", "organization"])
@pytest.mark.parametrize("value", NOT_IDS)
def test_authorize_with_a_hint_that_cannot_be_an_id_routes_nowhere(
    gatehouse: Harness, hint: str, value: str
) -> None:
    login = gatehouse.new_login()
    login.params[hint] = value
    response = gatehouse.authorize(login)
    if len(value) > 255:  # longer than any id: the request itself is refused (authorize.py)
        assert response.status_code == 302
        assert "error=invalid_request" in response.headers["location"]
        return
    assert response.status_code == 400, response.text
    assert "flow" in response.text  # the email page, to type an address instead


@pytest.mark.parametrize("flow_id", NOT_IDS)
@pytest.mark.parametrize("path", ["/login", "/login/choose"])
def test_a_flow_id_that_cannot_be_one_has_expired(
    gatehouse: Harness, path: str, flow_id: str
) -> None:
    response = gatehouse.client.post(
        path, data={"flow": flow_id, "email": "ann@acme.test", "connection": "con_acme"}
    )
    assert response.status_code == 400
    assert "This sign-in has expired" in response.text


@pytest.mark.parametrize("connection_id", NOT_IDS)
def test_an_answer_at_a_connection_that_cannot_be_one_is_refused_and_writes_nothing(
    gatehouse: Harness, connection_id: str
) -> None:
    path = "/saml/" + connection_id.replace("\x00", "%00") + "/acs"
    response = gatehouse.client.post(path, data={"SAMLResponse": "x", "RelayState": "y"})
    assert response.status_code == 404
    assert "wrong place" in response.text
    # No organization to tell, and anyone may send it: a log line, no event (issue 12).
    assert failures(gatehouse) == []


@pytest.mark.parametrize("state", NOT_IDS)
def test_an_answer_with_a_state_that_cannot_be_a_flow_is_refused_and_recorded(
    gatehouse: Harness, state: str
) -> None:
    query = urlencode({"state": state, "code": "x"})
    response = gatehouse.client.get(f"/callback/{gatehouse.connection.id}?{query}")
    assert response.status_code == 400
    assert failures(gatehouse) == [("flow_expired", gatehouse.connection.id)]


@pytest.mark.parametrize(
    "path", [b"/authorize", b"/portal/", b"/api/v1/organizations", b"/oidc/con_acme/callback"]
)
def test_a_query_string_that_is_not_utf8_is_read_not_crashed_on(
    gatehouse: Harness, path: bytes
) -> None:
    """Servers pass `?\\xff` through as is; Starlette decoded it as strict UTF-8 on first use
    of `request.url` (a 500, in the error handlers too). Now it reads as `%FF` would."""
    with raw_client(gatehouse.client.app) as raw:
        answer = raw.request("GET", path, query=b"client_id=\xff\xfe&state=\xed\xa0\x80")
    assert answer.escaped is None, answer.escaped
    assert 400 <= answer.status < 500, answer.text
