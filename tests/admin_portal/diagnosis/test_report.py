"""What a test login stores for its result page (broker/login/trial_report.py): the names
looked for, the domain rule, the IdP's decoded answer, and the caps that keep it small."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from broker.login.trial_report import MAX_PIECE_CHARS, failed_report, passed_report
from broker.model.reasons import Reason
from broker.model.records import Connection, Domain, UpstreamIdentity
from broker.upstream.base import UpstreamIncomplete, UpstreamInvalid

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connection(kind: str = "saml", **config: Any) -> Connection:
    return Connection(
        id="con_1", organization_id="org_1", kind=kind, name="x", config=config, created_at=NOW
    )


def domain(name: str, *, verified: bool) -> Domain:
    return Domain(organization_id="org_1", name=name, verified_at=NOW if verified else None)


def identity(email: str | None = "ann@acme.test", **extra: Any) -> UpstreamIdentity:
    return UpstreamIdentity(subject="s-1", email=email, given_name="Ann", **extra)


def test_the_names_looked_for_are_the_vendors_then_the_connections_own() -> None:
    saml = connection(
        attribute_profile="okta",
        required_claims=["email", "given_name"],
        attribute_mapping={"given_name": ["prenom"]},
        strategy="okta",
    )
    _, report = passed_report(identity(), saml, [])
    assert report["required"] == [
        {"claim": "email", "names": ["email", "Email", "mail"]},
        {"claim": "given_name", "names": ["prenom"]},
    ]
    assert (report["protocol"], report["strategy"]) == ("saml", "okta")
    _, report = passed_report(identity(), connection("oidc", vendor="entra"), [])
    assert report["required"] == [
        {"claim": "email", "names": ["email", "preferred_username", "upn"]}
    ]


def test_without_a_verified_domain_the_test_passes_and_records_the_domain() -> None:
    reason, report = passed_report(identity(), connection(), [domain("acme.test", verified=False)])
    assert reason is None
    assert report["email_domain"] == {
        "domain": "acme.test",
        "verified_domains": [],
        "status": "claimed",
    }
    reason, report = passed_report(identity(), connection(), [])
    assert (reason, report["email_domain"]["status"]) == (None, "not_claimed")


def test_once_a_domain_is_verified_an_address_outside_fails_as_a_login_would() -> None:
    domains = [domain("acme.test", verified=True)]
    assert passed_report(identity(), connection(), domains)[0] is None
    assert passed_report(identity("ann@acme.test.evil.test"), connection(), domains)[0] == (
        "email_domain_not_verified"
    )
    assert passed_report(identity(None), connection(), domains)[0] == ("email_domain_not_verified")
    google = identity(hosted_domain="other.test")
    assert passed_report(google, connection("oidc"), domains)[0] == "hosted_domain_not_verified"


def test_the_decoded_answer_is_kept_capped() -> None:
    big = "x" * (MAX_PIECE_CHARS + 10)
    shown = identity(evidence=lambda: {"saml_xml": big, "id_token": {"claims": {"a": big}}})
    _, report = passed_report(shown, connection(), [])
    assert len(report["evidence"]["saml_xml"]) == MAX_PIECE_CHARS
    assert report["evidence"]["id_token"]["truncated"] is True
    assert len(report["evidence"]["id_token"]["json"]) == MAX_PIECE_CHARS
    huge = identity(raw_attributes={"groups": ["g" * 1000] * 100})
    _, report = passed_report(huge, connection(), [])
    assert report["attributes"]["truncated"] is True


def test_an_answer_that_cannot_be_decoded_still_gets_a_report() -> None:
    def broken() -> dict[str, object]:
        raise ValueError("no")

    _, report = passed_report(identity(evidence=broken), connection(), [])
    assert "evidence" not in report
    assert report["identity"]["email"] == "ann@acme.test"


def test_a_failure_keeps_its_facts_what_was_missing_and_the_evidence() -> None:
    error = UpstreamIncomplete(
        ("email",), looked_for="email: email, mail", facts={"received_attributes": "cn"}
    )
    error.evidence = lambda: {"saml_xml": "<samlp:Response/>"}
    report = failed_report(error, connection(required_claims=["email"]))
    assert report["facts"] == {"received_attributes": "cn"}
    assert report["missing"] == ["email"]
    assert report["looked_for"] == "email: email, mail"
    assert report["evidence"] == {"saml_xml": "<samlp:Response/>"}
    plain = failed_report(UpstreamInvalid(Reason.EXPIRED, detail="d" * 5000), None)
    assert len(plain["detail"]) == 2000
    assert "evidence" not in plain
