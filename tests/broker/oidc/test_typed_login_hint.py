"""The address a person types on the email page is who the IdP is told to expect: it goes
upstream as the hand-off's `login_hint`, through the chooser too, and over the relying
party's own `login_hint` (the person's word is newer than the RP's guess)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.harness import Harness
from tests.support.saml_pages import hidden_fields


def sent_hint(hand_off: httpx.Response) -> list[str]:
    assert hand_off.status_code == 302, hand_off.text
    return parse_qs(urlsplit(hand_off.headers["location"]).query).get("login_hint", [])


def test_the_typed_address_wins_over_the_relying_partys_hint(gatehouse: Harness) -> None:
    page = gatehouse.authorize(gatehouse.new_login(login_hint="not-an-address"))
    assert page.status_code == 200  # an unusable hint: the email page
    form = hidden_fields(page.text)
    sent = gatehouse.client.post(
        "/login", data={**form, "email": "bo@acme.test"}, follow_redirects=False
    )
    assert sent_hint(sent) == ["bo@acme.test"]
    with gatehouse.store.unit_of_work() as uow:
        flow = uow.flows.get(form["flow"], now=gatehouse.clock.now())
    assert (flow.entered_email, flow.request.login_hint) == ("bo@acme.test", "not-an-address")


def test_the_typed_address_survives_the_chooser(gatehouse: Harness) -> None:
    with gatehouse.store.unit_of_work() as uow:
        uow.connections.add(replace(gatehouse.connection, id="con_acme_2", name="Contractors"))
    form = hidden_fields(gatehouse.authorize(gatehouse.new_login(login_hint=None)).text)
    chooser = gatehouse.client.post("/login", data={**form, "email": "bo@acme.test"})
    assert chooser.status_code == 200
    choice = hidden_fields(chooser.text)
    sent = gatehouse.client.post(
        "/login/choose", data={**choice, "connection": "con_acme_2"}, follow_redirects=False
    )
    assert sent_hint(sent) == ["bo@acme.test"]


def test_without_a_typed_address_the_relying_partys_hint_goes_upstream(
    gatehouse: Harness,
) -> None:
    assert sent_hint(gatehouse.authorize(gatehouse.new_login())) == ["ann@acme.test"]
