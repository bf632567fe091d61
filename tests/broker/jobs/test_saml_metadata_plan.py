"""What re-read metadata changes, decided without I/O (broker/jobs/saml_metadata_plan.py):
each rule with the certificates that make it matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broker.jobs.saml_metadata_plan import plan_refresh
from broker.keys import SecretBox
from broker.upstream.saml.config import MAX_IDP_CERTIFICATES, SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.saml.xmlsig import pem_fingerprint
from broker.upstream.urls import endpoints_for
from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
YEAR = timedelta(days=365)
ENTITY = "https://idp.test/metadata"
SSO = "https://idp.test/sso"


@pytest.fixture(scope="module")
def certs() -> list[str]:
    return [certificate_pem(not_after=NOW + YEAR, common_name=f"IdP {n}") for n in range(6)]


def metadata(*certificates: str, sso_url: str = SSO, entity_id: str = ENTITY) -> IdpMetadata:
    return IdpMetadata(
        entity_id=entity_id, sso_url=sso_url, sso_binding="redirect", certificates=certificates
    )


def config(*certificates: str) -> SamlConnectionConfig:
    raw = new_saml_config(
        metadata(*certificates),
        box=SecretBox(TEST_SECRET_KEY),
        endpoints=endpoints_for(ISSUER, "con_plan", "saml"),
        now=NOW,
    )
    return SamlConnectionConfig.parse(raw)


@pytest.fixture(scope="module")
def trusting_a(certs: list[str]) -> SamlConnectionConfig:
    return config(certs[0])


def test_the_same_metadata_changes_nothing(
    certs: list[str], trusting_a: SamlConnectionConfig
) -> None:
    plan = plan_refresh(trusting_a, metadata(certs[0]), now=NOW, verified={})
    assert (plan.added, plan.removed, plan.pending, plan.differences) == ((), (), (), {})
    assert not plan.changes_trust


def test_a_new_certificate_is_added_beside_the_old(
    certs: list[str], trusting_a: SamlConnectionConfig
) -> None:
    plan = plan_refresh(trusting_a, metadata(certs[0], certs[1]), now=NOW, verified={})
    assert plan.certificates == (certs[0], certs[1])
    assert plan.added == (certs[1],)


def test_an_unlisted_certificate_waits_for_a_login_under_a_listed_one(certs: list[str]) -> None:
    both = config(certs[0], certs[1])
    listed = metadata(certs[1])
    waiting = plan_refresh(both, listed, now=NOW, verified={pem_fingerprint(certs[0]): NOW})
    assert (waiting.removed, waiting.pending) == ((), (certs[0],))  # a login under the OLD one
    dropped = plan_refresh(both, listed, now=NOW, verified={pem_fingerprint(certs[1]): NOW})
    assert (dropped.removed, dropped.pending) == ((certs[0],), ())
    assert dropped.certificates == (certs[1],)
    assert dropped.verified_with == (pem_fingerprint(certs[1]),)


def test_an_expired_certificate_in_the_metadata_is_not_added(
    certs: list[str], trusting_a: SamlConnectionConfig
) -> None:
    expired = certificate_pem(not_after=NOW - timedelta(days=1), common_name="old")
    plan = plan_refresh(trusting_a, metadata(certs[0], expired), now=NOW, verified={})
    assert plan.added == ()


def test_no_more_than_the_maximum_is_trusted_at_once(certs: list[str]) -> None:
    full = config(*certs[:MAX_IDP_CERTIFICATES])
    plan = plan_refresh(full, metadata(*certs), now=NOW, verified={})
    assert plan.added == ()
    assert len(plan.certificates) == MAX_IDP_CERTIFICATES


def test_other_differences_are_reported_not_applied(
    certs: list[str], trusting_a: SamlConnectionConfig
) -> None:
    moved = metadata(certs[0], sso_url="https://idp.test/v2/sso", entity_id="https://other")
    plan = plan_refresh(trusting_a, moved, now=NOW, verified={})
    assert plan.differences == {
        "idp_entity_id": {"stored": ENTITY, "metadata": "https://other"},
        "sso_url": {"stored": SSO, "metadata": "https://idp.test/v2/sso"},
    }
    assert plan.certificates == (certs[0],)


def test_a_reported_value_is_capped(certs: list[str], trusting_a: SamlConnectionConfig) -> None:
    huge = metadata(certs[0], entity_id="https://idp.test/" + "x" * 100_000)
    plan = plan_refresh(trusting_a, huge, now=NOW, verified={})
    assert len(plan.differences["idp_entity_id"]["metadata"]) == 500
