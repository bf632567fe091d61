"""A flow belongs to the browser that asked for it, from `/authorize` on, and follows what
changes while the person is at their IdP (issue 12 item 6; docs/security.md P-19):

- the email page and the chooser accept a POST only from that browser (its binding cookie),
  from this site (Origin / Sec-Fetch-Site), with the form's token (login CSRF);
- at the IdP's answer, the connection must still be on, its organization still there, and
  the email domain still verified: otherwise no code.

Each test fails when its check is removed.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from starlette.testclient import TestClient

from broker.model.records import AuditEvent
from tests.support.config import ISSUER
from tests.support.harness import Harness
from tests.support.saml_pages import hidden_fields

BINDING_COOKIE = "__Host-gatehouse-login"


def email_page(gatehouse: Harness) -> tuple[httpx.Response, dict[str, str]]:
    page = gatehouse.authorize(gatehouse.new_login(login_hint=None))
    assert page.status_code == 200
    return page, hidden_fields(page.text)


def events(gatehouse: Harness, reason: str) -> list[AuditEvent]:
    with gatehouse.store.unit_of_work() as uow:
        return [e for e in uow.audit.list(limit=100) if e.reason == reason]


def test_authorize_binds_the_flow_to_the_browser_at_once(gatehouse: Harness) -> None:
    page, form = email_page(gatehouse)
    assert BINDING_COOKIE in page.headers["set-cookie"]
    with gatehouse.store.unit_of_work() as uow:
        flow = uow.flows.get(form["flow"], now=gatehouse.clock.now())
    assert flow.browser_binding is not None
    assert form["form_token"]


def test_the_email_form_works_from_its_own_page(gatehouse: Harness) -> None:
    _, form = email_page(gatehouse)
    sent = gatehouse.client.post(
        "/login",
        data={**form, "email": "bob@acme.test"},
        headers={"origin": "null", "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert sent.headers["location"].startswith("https://idp.test/login?")


@pytest.mark.parametrize(
    ("headers", "drop"),
    [
        ({"origin": "https://evil.test"}, None),
        ({"sec-fetch-site": "cross-site"}, None),
        ({"origin": "null"}, None),  # null without Sec-Fetch-Site: same-origin
        ({}, "form_token"),
    ],
    ids=["foreign-origin", "cross-site", "bare-null-origin", "no-token"],
)
def test_a_forged_email_form_is_refused(
    gatehouse: Harness, headers: dict[str, str], drop: str | None
) -> None:
    _, form = email_page(gatehouse)
    if drop:
        del form[drop]
    sent = gatehouse.client.post(
        "/login", data={**form, "email": "bob@acme.test"}, headers=headers, follow_redirects=False
    )
    assert sent.status_code == 403
    assert "This sign-in form has expired" in sent.text
    assert "location" not in sent.headers
    assert len(events(gatehouse, "form_refused")) == 1


def test_another_browser_cannot_take_over_a_flow_with_its_id_and_token(
    gatehouse: Harness,
) -> None:
    """Login CSRF: the attacker starts a flow, then has a victim's browser post it (or the
    reverse); without the first browser's cookie the form is refused."""
    _, form = email_page(gatehouse)
    with TestClient(gatehouse.client.app, base_url=ISSUER) as other_browser:
        sent = other_browser.post(
            "/login", data={**form, "email": "bob@acme.test"}, follow_redirects=False
        )
    assert sent.status_code == 403
    # The flow is still the first browser's.
    sent = gatehouse.client.post(
        "/login", data={**form, "email": "bob@acme.test"}, follow_redirects=False
    )
    assert sent.status_code == 302


def test_a_token_of_another_flow_does_not_fit(gatehouse: Harness) -> None:
    _, first = email_page(gatehouse)
    _, second = email_page(gatehouse)
    sent = gatehouse.client.post(
        "/login",
        data={"flow": first["flow"], "form_token": second["form_token"], "email": "b@acme.test"},
    )
    assert sent.status_code == 403


def test_the_chooser_checks_its_form_too(gatehouse: Harness) -> None:
    from dataclasses import replace

    with gatehouse.store.unit_of_work() as uow:
        uow.connections.add(replace(gatehouse.connection, id="con_acme_2", name="Contractors"))
    page = gatehouse.authorize(gatehouse.new_login())
    form = hidden_fields(page.text)
    forged = gatehouse.client.post(
        "/login/choose",
        data={**form, "connection": "con_acme_2"},
        headers={"origin": "https://evil.test"},
    )
    assert forged.status_code == 403
    del form["form_token"]
    assert gatehouse.client.post("/login/choose", data=form).status_code == 403


def test_a_connection_turned_off_while_the_person_is_at_the_idp_issues_no_code(
    gatehouse: Harness,
) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        current = uow.connections.get("con_acme")
        from dataclasses import replace

        uow.connections.save(replace(current, active=False), expected_version=current.version)
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert back.status_code == 403
    assert "turned this sign-in method off" in back.text
    assert "location" not in back.headers
    assert [e.organization_id for e in events(gatehouse, "connection_inactive")] == ["org_acme"]


def test_a_domain_no_longer_verified_at_the_answer_issues_no_code(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        uow.domains.delete("org_acme", "acme.test")
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert back.status_code == 403
    assert "location" not in back.headers
    assert len(events(gatehouse, "email_domain_not_verified")) == 1


def test_an_organization_deleted_meanwhile_issues_no_code(gatehouse: Harness) -> None:
    at_idp = gatehouse.authorize(gatehouse.new_login())
    with gatehouse.store.unit_of_work() as uow:
        uow.organizations.delete("org_acme")
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    assert back.status_code == 404
    assert "location" not in back.headers
    assert "Traceback" not in back.text


@pytest.mark.parametrize(
    "connection_id",
    ["x" * 30_000, "con_acme\r\nINFO forged line", "con_ünïcode", "no_such_connection"],
    ids=["30KB", "crlf", "unicode", "unknown"],
)
def test_an_answer_for_an_unknown_connection_writes_nothing(
    gatehouse: Harness, connection_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with gatehouse.store.unit_of_work() as uow:
        before = len(uow.audit.list(limit=1000))
    response = gatehouse.client.post(
        f"/saml/{quote(connection_id)}/acs",
        data={"SAMLResponse": "x" * 30_000, "RelayState": "f"},
    )
    assert response.status_code == 404
    assert "arrived at the wrong place" in response.text
    with gatehouse.store.unit_of_work() as uow:
        assert len(uow.audit.list(limit=1000)) == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "\r" not in logged
    assert "\nINFO forged" not in logged
    assert len(logged) < 5_000
