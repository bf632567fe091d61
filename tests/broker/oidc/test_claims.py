"""Who the ID token says the person is: `sub`, email_verified and organization claims."""

from __future__ import annotations

from datetime import timedelta

from broker.model.records import Domain
from tests.support.factories import add_organization
from tests.support.harness import Harness

RESERVED_BY_AUTH0 = {"org_id", "groups", "roles", "amr", "sid", "permissions"}


def id_claims(gatehouse: Harness, **identity: str) -> dict[str, object]:
    login, code = gatehouse.login_and_get_code(**identity)
    body = gatehouse.redeem(code, verifier=login.verifier).json()
    return gatehouse.verify_id_token(body["id_token"])


def test_sub_is_opaque_and_never_the_email(gatehouse: Harness) -> None:
    claims = id_claims(gatehouse)
    assert isinstance(claims["sub"], str)
    assert claims["sub"].startswith("usr_")
    assert "ann" not in claims["sub"]
    assert "acme" not in claims["sub"]


def test_sub_is_stable_for_the_same_idp_subject(gatehouse: Harness) -> None:
    first = id_claims(gatehouse)
    second = id_claims(gatehouse, email="ann.renamed@acme.test")
    assert first["sub"] == second["sub"]


def test_sub_differs_for_another_idp_subject(gatehouse: Harness) -> None:
    assert id_claims(gatehouse)["sub"] != id_claims(gatehouse, sub="idp-bob")["sub"]


def test_same_idp_subject_in_another_organization_is_another_user(gatehouse: Harness) -> None:
    now = gatehouse.clock.now()
    with gatehouse.store.unit_of_work() as uow:
        add_organization(
            uow, org_id="org_globex", name="Globex", domain="globex.test", now=now,
            connection_id="con_globex",
        )  # fmt: skip
    acme = id_claims(gatehouse)
    globex_login = gatehouse.new_login(login_hint="ann@globex.test")
    _, code = gatehouse.login_and_get_code(globex_login, email="ann@globex.test")
    globex = gatehouse.verify_id_token(
        gatehouse.redeem(code, verifier=globex_login.verifier).json()["id_token"]
    )
    assert globex["organization_id"] == "org_globex"
    assert globex["sub"] != acme["sub"]


def test_organization_claims_use_names_auth0_does_not_reserve(gatehouse: Harness) -> None:
    claims = id_claims(gatehouse, groups="eng,admins", department="R&D")
    assert claims["organization_id"] == gatehouse.acme.id
    assert claims["organization_name"] == "Acme Corp"
    assert claims["connection_id"] == gatehouse.connection.id
    assert claims["idp_type"] == "test"
    assert claims["idp_groups"] == ["eng", "admins"]
    assert claims["raw_attributes"] == {"department": "R&D"}
    assert not RESERVED_BY_AUTH0 & set(claims)


def test_email_verified_is_true_for_a_verified_domain(gatehouse: Harness) -> None:
    claims = id_claims(gatehouse)
    assert claims["email"] == "ann@acme.test"
    assert claims["email_verified"] is True


def test_email_outside_the_verified_domains_is_refused_without_a_code(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    back = gatehouse.idp_returns(
        gatehouse.authorize(login), sub="idp-mallory", email="mallory@other.test"
    )
    assert back.status_code == 403
    assert "location" not in back.headers
    assert "outside the domains your organization has verified" in back.text


def test_unverified_domain_does_not_make_email_verified(gatehouse: Harness) -> None:
    # The organization also claims an unverified domain: routing and claims ignore it.
    with gatehouse.store.unit_of_work() as uow:
        uow.domains.add(Domain(organization_id=gatehouse.acme.id, name="acme-unverified.test"))
    login = gatehouse.new_login(login_hint="ann@acme-unverified.test")
    response = gatehouse.authorize(login)
    assert response.status_code == 400
    assert "no single sign-on set up" in response.text


def test_profile_claims_follow_the_profile_scope(gatehouse: Harness) -> None:
    login = gatehouse.new_login(scope="openid email")
    _, code = gatehouse.login_and_get_code(login)
    claims = gatehouse.verify_id_token(
        gatehouse.redeem(code, verifier=login.verifier).json()["id_token"]
    )
    assert "name" not in claims
    assert claims["email"] == "ann@acme.test"


def test_auth_time_is_the_upstream_login_time(gatehouse: Harness) -> None:
    login = gatehouse.new_login()
    at_idp = gatehouse.authorize(login)
    gatehouse.clock.advance(timedelta(seconds=30))  # the person types their password
    login_time = int(gatehouse.clock.now().timestamp())
    back = gatehouse.idp_returns(at_idp, sub="idp-ann", email="ann@acme.test")
    code = back.headers["location"].split("code=")[1].split("&")[0]
    gatehouse.clock.advance(timedelta(seconds=5))
    claims = gatehouse.verify_id_token(
        gatehouse.redeem(code, verifier=login.verifier).json()["id_token"]
    )
    assert claims["auth_time"] == login_time


def test_auth_time_is_the_idps_authentication_instant_when_it_says(gatehouse: Harness) -> None:
    earlier = int(gatehouse.clock.now().timestamp()) - 300  # the IdP had a session
    claims = id_claims(gatehouse, auth_time=str(earlier))
    assert claims["auth_time"] == earlier


def test_auth_time_is_never_in_the_future(gatehouse: Harness) -> None:
    later = int(gatehouse.clock.now().timestamp()) + 3600
    claims = id_claims(gatehouse, auth_time=str(later))
    assert claims["auth_time"] == int(gatehouse.clock.now().timestamp())
