"""T-04 and T-08 on the maintenance pages.

A session of organization A, opened with an edit link for its connection X, tries every
maintenance URL and form with organization B's connection ids and with A's other
connections: each answer is "not found", and not one row changes. Every form without the
session's form token, with another one, or from another site is refused (403), and
changes nothing. Each refusal has its positive control: the same request, done right,
works, so the refusal is the check's and not something else's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from broker.model.records import Connection
from broker.store import Store
from tests.support.certificates import certificate_pem, fingerprint
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR
from tests.support.maintain_world import MaintainWorld, build_maintain_world, op_key
from tests.support.portal_forms import csrf_token, submit

#: A certificate's end, years after the world's clock.
FAR = datetime(2030, 1, 1, tzinfo=UTC)

__all__ = ["op_key"]  # fixtures


@dataclass
class Tenants:
    world: MaintainWorld
    mine: str
    edited: Connection  # X: the edit link's
    mine_saml: Connection  # A's other connections
    mine_oidc: Connection
    theirs_saml: Connection  # B's
    theirs_oidc: Connection


@pytest.fixture
def tenants(store: Store, tmp_path: Path, op_key: RSAKey) -> Tenants:
    """Every connection with a pending draft and a passed test of it, so that a request
    that got through would switch over, discard or change something visible."""
    world = build_maintain_world(store, tmp_path, op_key=op_key)
    a, b = world.organization("Acme"), world.organization("Rival Inc")
    made = [
        world.saml(a.id),
        world.saml(a.id),
        world.oidc(a.id),
        world.saml(b.id),
        world.oidc(b.id),
    ]
    drafts = world.broker.management.connection_drafts
    ready = []
    for connection in made:
        if connection.kind == "saml":
            pem = certificate_pem(not_after=world.clock.now() + timedelta(days=300))
            drafts.add_certificate(ACTOR, connection.organization_id, connection.id, pem)
        else:
            drafts.change(
                ACTOR, connection.organization_id, connection.id, {"clock_skew_seconds": 30}
            )
        drafted = world.stored(connection.id)
        world.passed_test(drafted, drafted.draft)
        ready.append(drafted)
    return Tenants(world, a.id, *ready)


def _requests(connection: Connection) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(method, path, form) for every maintenance URL and form that applies to it."""
    base = f"/portal/connections/{connection.id}"
    yield "GET", base, {}
    yield "POST", f"{base}/switch-over", {"version": str(connection.version)}
    yield "POST", f"{base}/discard", {}
    yield "POST", f"{base}/test", {"draft": "1"}
    if connection.kind == "saml":
        pem = certificate_pem(not_after=FAR)
        first = connection.config["idp_certificates"][0]
        yield "GET", f"{base}/certificates", {}
        yield "POST", f"{base}/certificates", {"action": "add", "certificate_text": pem}
        yield (
            "POST",
            f"{base}/certificates",
            {"action": "remove", "fingerprint": fingerprint(first)},
        )
        yield (
            "POST",
            f"{base}/certificates",
            {"action": "fetch", "metadata_url": "https://idp.acme.test/m"},
        )
    else:
        yield "GET", f"{base}/secret", {}
        yield "POST", f"{base}/secret", {"client_secret": "stolen-by-another-tenant"}


def _send(browser: TestClient, token: str, method: str, path: str, form: dict[str, str]) -> int:
    response: httpx.Response
    if method == "GET":
        response = browser.get(path)
    else:
        response = browser.post(
            path, data={"csrf": token, **form}, headers={"Origin": ISSUER}, follow_redirects=False
        )
    return response.status_code


def test_an_edit_link_reaches_nothing_but_its_own_connection(tenants: Tenants) -> None:
    world = tenants.world
    browser = world.editing(tenants.mine, tenants.edited)
    token = csrf_token(browser.get("/portal/").text)
    before = world.rows()
    others = [tenants.theirs_saml, tenants.theirs_oidc, tenants.mine_saml, tenants.mine_oidc]
    for other in others:
        for method, path, form in _requests(other):
            status = _send(browser, token, method, path, form)
            assert status == 404, (method, path, status)
    page = browser.get(f"/portal/connections/{tenants.theirs_saml.id}")
    assert "Rival" not in page.text
    assert tenants.theirs_saml.name not in page.text
    assert world.rows() == before

    # The positive control: the same link on its own connection is answered.
    assert browser.get(f"/portal/connections/{tenants.edited.id}").status_code == 200
    assert browser.get(f"/portal/connections/{tenants.edited.id}/certificates").status_code == 200


def test_another_organizations_connection_is_not_found_from_any_link(tenants: Tenants) -> None:
    """A new-connection link of A reaches A's connections, never B's."""
    world = tenants.world
    browser = world.signed_in(tenants.mine)
    token = csrf_token(browser.get("/portal/").text)
    before = world.rows()
    for other in (tenants.theirs_saml, tenants.theirs_oidc):
        for method, path, form in _requests(other):
            status = _send(browser, token, method, path, form)
            assert status == 404, (method, path, status)
    assert world.rows() == before
    for mine in (tenants.mine_saml, tenants.mine_oidc):
        assert browser.get(f"/portal/connections/{mine.id}").status_code == 200


def test_a_link_without_the_sso_feature_reaches_no_connection(tenants: Tenants) -> None:
    world = tenants.world
    browser = world.signed_in(tenants.mine, enabled_features=["domain_verification"])
    token = csrf_token(browser.get("/portal/").text)
    before = world.rows()
    for method, path, form in _requests(tenants.mine_saml):
        status = _send(browser, token, method, path, form)
        assert status == 403, (method, path, status)
    assert world.rows() == before


def test_every_form_needs_the_form_token_and_our_origin(tenants: Tenants) -> None:
    """T-08: a forged certificate upload is a tenant takeover."""
    world = tenants.world
    browser = world.signed_in(tenants.mine)
    token = csrf_token(browser.get("/portal/").text)
    other_session = world.signed_in(tenants.mine)
    other_token = csrf_token(other_session.get("/portal/").text)
    assert other_token != token
    before = world.rows()
    posts = [
        (path, form)
        for connection in (tenants.mine_saml, tenants.mine_oidc)
        for method, path, form in _requests(connection)
        if method == "POST" and not path.endswith("/test")  # trial_logins.py's own tests
    ]
    for path, form in posts:
        forged = [
            browser.post(path, data=form, headers={"Origin": ISSUER}),
            browser.post(path, data={"csrf": other_token, **form}, headers={"Origin": ISSUER}),
            browser.post(
                path, data={"csrf": token, **form}, headers={"Origin": "https://evil.example"}
            ),
            browser.post(
                path, data={"csrf": token, **form}, headers={"Sec-Fetch-Site": "cross-site"}
            ),
        ]
        for response in forged:
            assert response.status_code == 403, (path, response.status_code)
            assert "This form has expired" in response.text
    assert world.rows() == before

    # Done right, each goes through (a change, a switch-over, a discard).
    add = submit(browser, f"/portal/connections/{tenants.mine_saml.id}/certificates",
                 {"action": "add", "certificate_text": certificate_pem(not_after=FAR)})  # fmt: skip
    assert add.status_code == 303
    secret = submit(browser, f"/portal/connections/{tenants.mine_oidc.id}/secret",
                    {"client_secret": "a-real-new-secret"})  # fmt: skip
    assert secret.status_code == 303
    oidc = world.stored(tenants.mine_oidc.id)
    world.passed_test(oidc, oidc.draft)
    switched = submit(
        browser, f"/portal/connections/{oidc.id}/switch-over", {"version": str(oidc.version)}
    )
    assert switched.status_code == 303
    assert world.stored(oidc.id).draft is None
    discarded = submit(browser, f"/portal/connections/{tenants.mine_saml.id}/discard")
    assert discarded.status_code == 303
    assert world.stored(tenants.mine_saml.id).draft is None
