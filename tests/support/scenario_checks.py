"""The assertions every tier makes with a row of a scenario table (tests/support/scenarios.py):
the error page a refusal leaves the person on and the audit event it records, what a
successful login's ID token says, what reaches the relying party over real HTTP, and the
portal's diagnosis of a test login."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import sqlalchemy as sa

from broker.model.portal import ConnectionTest
from broker.model.records import AuditEvent
from broker.store import Store
from broker.store.sql import SqlStore
from tests.support.scenarios import Refusal, Row

if TYPE_CHECKING:  # the in-process tiers need not load the servers' modules
    from tests.support.loopback_world import LoopbackWorld

#: The simulator marks each sentence of its own with this word: an IdP's free text (a SAML
#: StatusMessage, an OAuth error_description) reaches the IT admin's diagnosis, never the
#: page of the person signing in.
IDP_OWN_WORDS = "simulated"


def refusal_page(response: httpx.Response, refusal: Refusal) -> str:
    """`response` is the error page of `refusal`, with no code sent onward, and with the
    way back to the relying party the refusal has (`back_to_client`); returns its
    reference, which must be the response's X-Request-Id."""
    assert response.status_code == refusal.status, response.text
    assert "location" not in response.headers
    assert refusal.page in response.text
    assert "Traceback" not in response.text
    assert IDP_OWN_WORDS not in response.text.lower()
    request_id = str(response.headers["x-request-id"])
    assert f"<code>{request_id}</code>" in response.text, response.text
    back = back_to_client(response.text)
    if refusal.error is None:
        assert back is None, back
    else:
        assert back is not None, response.text
        params = dict(parse_qsl(urlsplit(back).query))
        assert params["error"] == refusal.error
        assert params["error_description"] == f"{refusal.code} (reference {request_id})"
        assert params["state"]
        assert params["iss"]
        assert "code" not in params
    return request_id


def back_to_client(page_html: str) -> str | None:
    """Where an error page's button takes the person back to the application, or None."""
    found = re.search(r'<a class="button" href="([^"]+)">Back to the application</a>', page_html)
    return None if found is None else html.unescape(found.group(1))


@dataclass(frozen=True)
class Tenant:
    """Where a tier's logins leave their records: its store, and the organization and the
    connection the logins go through."""

    store: Store
    organization_id: str
    connection_id: str

    def events(self, request_id: str) -> list[AuditEvent]:
        """The audit events one request left: what an operator finds from a reference."""
        with self.store.unit_of_work() as uow:
            events = uow.audit.list(limit=1000, organization_id=self.organization_id)
        return [event for event in events if event.request_id == request_id]

    def failures(self) -> Sequence[AuditEvent]:
        with self.store.unit_of_work() as uow:
            return uow.audit.list(organization_id=self.organization_id, kind="login.failed")

    def identities(self) -> int:
        """How many people Gatehouse has recorded, of any organization."""
        assert isinstance(self.store, SqlStore)
        with self.store.engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM identities")).scalar_one()
        return int(count)

    def assert_refused(self, response: httpx.Response, refusal: Refusal) -> None:
        """The error page of `refusal`, and the one event its request left, saying why."""
        [event] = self.events(refusal_page(response, refusal))
        assert (event.kind, event.reason) == ("login.failed", refusal.reason)
        assert event.connection_id == self.connection_id
        if refusal.detail is not None:
            assert refusal.detail in str(event.detail["detail"]), event.detail

    def assert_signed_in(self, response: httpx.Response, user_id: str) -> None:
        """The one event the request that finished the login left names the person."""
        [event] = self.events(response.headers["x-request-id"])
        assert (event.kind, event.reason) == ("login.succeeded", None)
        assert event.detail["user_id"] == user_id


def assert_describes(
    claims: Mapping[str, Any],
    *,
    email: str,
    organization_id: str,
    organization_name: str,
    connection_id: str,
    idp_type: str,
) -> None:
    """An ID token's claims name the person, their organization and the way they came."""
    assert claims["email"] == email
    assert claims["email_verified"] is True
    assert claims["organization_id"] == organization_id
    assert claims["organization_name"] == organization_name
    assert claims["connection_id"] == connection_id
    assert claims["idp_type"] == idp_type


# -- over real HTTP --------------------------------------------------------------------------


def tenant_of(live: LoopbackWorld) -> Tenant:
    return Tenant(live.store, live.organization_id, live.connection_id)


def assert_refused_on_the_wire(
    live: LoopbackWorld,
    http: httpx.Client,
    arrive: Callable[[], httpx.Response],
    refusal: Refusal,
) -> None:
    """The answer `arrive` sends to Gatehouse is refused with `refusal`: the relying party
    hears nothing until the person presses the page's button, which takes them (`http`, the
    browser) to the demo RP with the error; the RP shows it once it checked `state` and
    `iss`. No code reaches it at any point."""
    callbacks_before = live.rp_log.callbacks()
    page = arrive()
    tenant_of(live).assert_refused(page, refusal)
    assert live.rp_log.callbacks() == callbacks_before
    back = back_to_client(page.text)
    assert back is not None
    assert back.startswith(f"{live.rp_url}/callback?")
    shown = http.get(back)
    assert "Sign-in refused" in shown.text, shown.text
    assert f"<code>{refusal.error}</code>" in shown.text
    reference = page.headers["x-request-id"]
    assert f"<code>{refusal.code} (reference {reference})</code>" in shown.text
    assert f"<code>{live.issuer}</code> (the expected issuer" in shown.text
    assert live.rp_log.callbacks() == [*callbacks_before, back.removeprefix(live.rp_url)]


def assert_rp_signed_in(
    live: LoopbackWorld,
    back: httpx.Response,
    result: httpx.Response,
    *,
    email: str,
    organization_name: str,
    idp_type: str,
) -> dict[str, Any]:
    """`back` (Gatehouse's redirect to the RP) led to `result`, the demo RP's page of a login
    it verified: the ID token's signature, iss, aud, exp, nonce and at_hash, and the
    userinfo answer's sub (OIDC Core 5.3.2). Returns the ID token's claims."""
    assert result.status_code == 200, result.text
    assert "Signed in" in result.text
    raw = re.search(r"<h2>Raw JSON</h2>\s*<pre>(.*?)</pre>", result.text, re.S)
    assert raw, result.text
    shown: dict[str, Any] = json.loads(html.unescape(raw.group(1)))
    claims: dict[str, Any] = shown["id_token_claims"]
    assert shown["userinfo"]["sub"] == claims["sub"]
    assert_describes(
        claims,
        email=email,
        organization_id=live.organization_id,
        organization_name=organization_name,
        connection_id=live.connection_id,
        idp_type=idp_type,
    )
    tenant_of(live).assert_signed_in(back, claims["sub"])
    return claims


# -- the portal's diagnosis ------------------------------------------------------------------


def page_text(page_html: str) -> str:
    """What a person reads: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


def assert_diagnosis(
    page: httpx.Response,
    row: Row,
    test: ConnectionTest,
    values: Mapping[str, str],
    *,
    evidence: str,
) -> None:
    """The result page of a test login with `row`'s scenario, and the result stored.

    `values` fill the placeholders of the row's texts; `evidence` is the text that shows what
    the IdP sent on the page."""
    assert page.status_code == 200, page.text
    assert (test.passed, test.reason) == (row.stored_reason is None, row.stored_reason)
    diagnosis = row.diagnosis
    text, unescaped = page_text(page.text), html.unescape(page.text)
    title = re.search(r'id="diagnosis-title">([^<]*)<', unescaped)
    assert title is not None, unescaped[:3000]
    assert title.group(1) == diagnosis.title
    for wanted in diagnosis.shows:
        shown = wanted.format(**values)
        assert shown in text or shown in page.text, shown
    for unwanted in diagnosis.absent:
        assert unwanted not in page.text, unwanted
    if diagnosis.sent is not None:
        assert text.count("✓ Sent") == diagnosis.sent
    assert "Traceback" not in text
    assert re.search(r"Reference <code>[0-9a-f-]{8,}</code>", page.text), "no reference"
    if diagnosis.evidence:
        assert evidence in page.text
        assert "its content is not shown" not in text
        assert "evidence" in test.report
    else:
        assert evidence not in page.text
        assert "its content is not shown" in text
        assert "evidence" not in test.report
