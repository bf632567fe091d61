"""Access follows the directory (issue 17 item 3; broker/model/directory_access.py): with an
active directory, a person deactivated there is refused at sign-in, one it does not list is
refused once it lists anyone, the app hears the person's directory groups, and `/userinfo`
refuses a token once its person is deactivated or deleted. A disabled directory enforces
nothing. The default world's Acme Corp signs Ann in (`sub` idp-ann, ann@acme.test) through
the fake connector; each test fails if the check it names is removed."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from broker.model.directories import DirectoryState, LinkKey
from broker.model.directory_access import MAX_GROUPS
from broker.model.records import AuditEvent
from tests.support.directory_people import DirectoryPeople
from tests.support.harness import Harness, callback_params
from tests.support.metrics_scrape import change, scrape, scraper
from tests.support.scenario_checks import back_to_client

ANN = {"sub": "idp-ann", "email": "ann@acme.test", "name": "Ann Example"}


@pytest.fixture
def people(gatehouse: Harness) -> DirectoryPeople:
    return DirectoryPeople(gatehouse.store, gatehouse.acme.id, gatehouse.clock.now())


def sign_in(gatehouse: Harness, **identity: str) -> httpx.Response:
    """Ann (or `identity`) signs in; Gatehouse's answer to the IdP's return."""
    at_idp = gatehouse.authorize(gatehouse.new_login())
    return gatehouse.idp_returns(at_idp, **(ANN | identity))


def tokens(gatehouse: Harness) -> dict[str, object]:
    login, code = gatehouse.login_and_get_code()
    response = gatehouse.redeem(code, verifier=login.verifier)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def userinfo(gatehouse: Harness, access_token: object) -> httpx.Response:
    response: httpx.Response = gatehouse.client.get(
        "/userinfo", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response


def failures(gatehouse: Harness) -> list[AuditEvent]:
    with gatehouse.store.unit_of_work() as uow:
        return list(uow.audit.list(kind="login.failed"))


def assert_refused(
    gatehouse: Harness, page: httpx.Response, reason: str, title: str, *, identities: int = 0
) -> None:
    """The person's page, the client's error behind its button, the audit event, and
    nothing written for the person (no identity recorded beyond `identities`)."""
    assert page.status_code == 403, page.text
    assert title in html.unescape(page.text)
    reference = page.headers["x-request-id"]
    assert reference in page.text
    back = back_to_client(page.text)
    assert back is not None
    told = dict(parse_qsl(urlsplit(back).query))
    assert told["error"] == "access_denied"
    assert told["error_description"] == f"{reason} (reference {reference})"
    [event] = failures(gatehouse)
    assert (event.reason, event.request_id) == (reason, reference)
    with gatehouse.store.unit_of_work() as uow:
        recorded = uow.identities.page(gatehouse.acme.id, after=None, limit=10)
    assert len(recorded) == identities


# -- sign-in ----------------------------------------------------------------------------


def test_a_person_deactivated_in_the_directory_cannot_sign_in(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test", active=False)
    page = sign_in(gatehouse)
    assert_refused(
        gatehouse, page, "directory_user_inactive",
        "Your account has been deactivated by your organization's IT team",
    )  # fmt: skip


def test_reactivated_the_person_signs_in_again(gatehouse: Harness, people: DirectoryPeople) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    people.set_active("du_ann", False)
    assert sign_in(gatehouse).status_code == 403
    people.set_active("du_ann", True)
    back = sign_in(gatehouse)
    assert back.status_code == 302, back.text
    assert "code" in callback_params(back)


def test_a_person_deleted_from_the_directory_cannot_sign_in(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    people.provision("du_bob", user_name="bob", email="bob@acme.test")
    assert sign_in(gatehouse).status_code == 302
    people.delete("du_ann")
    page = sign_in(gatehouse)
    assert_refused(
        gatehouse, page, "directory_user_unknown",
        "Your account is not set up for this application", identities=1,
    )  # fmt: skip


def test_before_the_first_sync_nobody_is_locked_out(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    """A directory that lists nobody yet: the person signs in (and the app hears an empty
    group list); after the IdP's first push, someone it does not list is refused."""
    people.open()
    body = tokens(gatehouse)
    claims = gatehouse.verify_id_token(str(body["id_token"]))
    assert claims["directory_groups"] == []
    people.provision("du_bob", user_name="bob", email="bob@acme.test")
    assert sign_in(gatehouse).status_code == 403
    assert [e.reason for e in failures(gatehouse)] == ["directory_user_unknown"]


def test_a_disabled_directory_enforces_nothing(gatehouse: Harness, people: DirectoryPeople) -> None:
    people.open(state=DirectoryState.DISABLED)
    people.provision("du_ann", user_name="ann", email="ann@acme.test", active=False)
    people.provision("du_bob", user_name="bob", email="bob@acme.test")
    body = tokens(gatehouse)
    assert "directory_groups" not in gatehouse.verify_id_token(str(body["id_token"]))
    assert userinfo(gatehouse, body["access_token"]).status_code == 200


def test_without_a_directory_nothing_changes(gatehouse: Harness) -> None:
    body = tokens(gatehouse)
    assert "directory_groups" not in gatehouse.verify_id_token(str(body["id_token"]))


@pytest.mark.parametrize(
    ("link_key", "linked", "not_linked"),
    [
        # The primary email, whatever its case.
        (LinkKey.EMAIL, {"email": "Ann@Acme.test"}, {"email": "someone@acme.test"}),
        # The IdP's subject as the SCIM externalId (Okta's user id, Entra's objectId).
        (LinkKey.EXTERNAL_ID, {"external_id": "idp-ann"}, {"external_id": "IDP-ANN"}),
        # The IdP's subject as the SCIM userName, whatever its case.
        (LinkKey.SUBJECT, {"user_name": "IDP-Ann"}, {"user_name": "ann@acme.test"}),
    ],
)
def test_each_link_key_links_by_its_own_attribute(
    gatehouse: Harness,
    people: DirectoryPeople,
    link_key: LinkKey,
    linked: dict[str, str],
    not_linked: dict[str, str],
) -> None:
    """The deactivated person is found by the key (refused as inactive); the same person
    under another value of that key, with everything else equal, is not (unknown)."""
    people.open(link_key=link_key)
    person = {"user_name": "ann", "email": "ann@acme.test", "external_id": "ext-other"}

    def provision(user_id: str, fields: dict[str, str], *, active: bool) -> None:
        fields = person | fields
        people.provision(
            user_id, user_name=fields["user_name"], email=fields["email"],
            external_id=fields["external_id"], active=active,
        )  # fmt: skip

    provision("du_ann", linked, active=False)
    assert sign_in(gatehouse).status_code == 403
    assert [e.reason for e in failures(gatehouse)] == ["directory_user_inactive"]
    people.delete("du_ann")
    provision("du_ann2", not_linked, active=False)
    assert sign_in(gatehouse).status_code == 403
    assert sorted(e.reason or "" for e in failures(gatehouse)) == [
        "directory_user_inactive",
        "directory_user_unknown",
    ]
    people.set_active("du_ann2", True)
    assert sign_in(gatehouse).status_code == 403  # still not linked by this key
    people.delete("du_ann2")
    provision("du_ann3", linked, active=True)
    assert sign_in(gatehouse).status_code == 302


# -- the claim --------------------------------------------------------------------------


def test_the_directory_groups_are_in_the_id_token_and_userinfo(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    people.provision("du_bob", user_name="bob", email="bob@acme.test")
    people.group("grp_eng", "Engineering", "du_ann", "du_bob")
    people.group("grp_adm", "Admins", "du_ann")
    people.group("grp_ops", "Operations", "du_bob")
    body = tokens(gatehouse)
    claims = gatehouse.verify_id_token(str(body["id_token"]))
    assert claims["directory_groups"] == ["Admins", "Engineering"]
    assert "directory_groups_truncated" not in claims
    info = userinfo(gatehouse, body["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["directory_groups"] == ["Admins", "Engineering"]


def test_the_groups_claim_is_bounded_and_says_when_it_was_cut(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    for n in range(MAX_GROUPS + 1):
        people.group(f"grp_{n:03}", f"Group {n:03}", "du_ann")
    claims = gatehouse.verify_id_token(str(tokens(gatehouse)["id_token"]))
    assert claims["directory_groups"] == [f"Group {n:03}" for n in range(MAX_GROUPS)]
    assert claims["directory_groups_truncated"] is True


def test_discovery_lists_the_claim(gatehouse: Harness) -> None:
    supported = gatehouse.client.get("/.well-known/openid-configuration").json()
    assert {"directory_groups", "directory_groups_truncated"} <= set(supported["claims_supported"])


# -- revocation at userinfo -------------------------------------------------------------


def test_userinfo_refuses_the_token_once_the_person_is_deactivated(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    token = tokens(gatehouse)["access_token"]
    assert userinfo(gatehouse, token).status_code == 200
    people.set_active("du_ann", False)
    refused = userinfo(gatehouse, token)
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_token"}
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    people.set_active("du_ann", True)
    assert userinfo(gatehouse, token).status_code == 200  # checked live, not remembered


def test_userinfo_refuses_the_token_once_the_person_is_deleted(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    token = tokens(gatehouse)["access_token"]
    people.delete("du_ann")
    assert userinfo(gatehouse, token).status_code == 401


def test_userinfo_stops_following_a_directory_that_was_disabled(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    token = tokens(gatehouse)["access_token"]
    people.set_active("du_ann", False)
    assert userinfo(gatehouse, token).status_code == 401
    people.set_state(DirectoryState.DISABLED)
    assert userinfo(gatehouse, token).status_code == 200


def test_a_disabled_directory_does_not_shadow_an_active_one(
    gatehouse: Harness, people: DirectoryPeople
) -> None:
    """Ann deactivated in the organization's old, disabled directory and active in its
    current one: the current one decides."""
    old = DirectoryPeople(gatehouse.store, gatehouse.acme.id, people.now, "dir_old")
    old.open()
    old.provision("du_old_ann", user_name="ann", email="ann@acme.test", active=False)
    old.set_state(DirectoryState.DISABLED)
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test")
    assert sign_in(gatehouse).status_code == 302


def test_the_refusal_is_counted_with_its_reason(
    gatehouse: Harness, people: DirectoryPeople, tmp_path: Path
) -> None:
    people.open()
    people.provision("du_ann", user_name="ann", email="ann@acme.test", active=False)
    with scraper(gatehouse.store, tmp_path) as metrics:
        before = scrape(metrics)
        assert sign_in(gatehouse).status_code == 403
        after = scrape(metrics)
    labels = {"protocol": "test", "outcome": "refused", "reason": "directory_user_inactive"}
    assert change(before, after, "gatehouse_logins_total", **labels) == 1
