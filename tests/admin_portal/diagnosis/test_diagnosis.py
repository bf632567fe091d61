"""The diagnoses, as pure functions of a stored test result: every reason a connector can
give has its own, each vendor's fix uses its console's words, and nothing the IdP sent is
ever turned into markup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from admin_portal.diagnosis import Diagnosis, attribute_checks, diagnose, evidence, known_reasons
from admin_portal.diagnosis.text import duration, signed_seconds
from admin_portal.diagnosis.vendors import topics, vendor_tables
from admin_portal.emphasis import emphasize
from broker.model.portal import ConnectionTest
from broker.model.reasons import CONNECTOR_REASONS, TEST_LOGIN_REASONS
from broker.model.vendors import OIDC_STRATEGIES, PRODUCTS, SAML_STRATEGIES, product_name

#: Reasons the test login itself gives (broker/login): settings changed meanwhile, the
#: organization's domain rule, and what the IdP left out.
_TEST_LEVEL = {
    "settings_changed",
    "email_domain_not_verified",
    "hosted_domain_not_verified",
    "missing_attributes",
}


def result(
    reason: str | None,
    facts: dict[str, str] | None = None,
    *,
    protocol: str = "saml",
    strategy: str | None = "okta",
    **report: Any,
) -> ConnectionTest:
    return ConnectionTest(
        id="tst_1",
        organization_id="org_1",
        connection_id="con_1",
        config_digest="x",
        passed=reason is None,
        reason=reason,
        report={"protocol": protocol, "strategy": strategy, "facts": facts or {}, **report},
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def fix_text(found: Diagnosis) -> str:
    return " ".join(step.text for step in found.fix)


@pytest.mark.parametrize("protocol", ["saml", "oidc"])
def test_every_reason_a_test_login_can_record_has_its_own_diagnosis(protocol: str) -> None:
    """Enumerated: a reason added to a connector's group without a diagnosis fails here."""
    recordable = CONNECTOR_REASONS[protocol] | TEST_LOGIN_REASONS
    missing = sorted(recordable - known_reasons(protocol))
    assert missing == [], f"{protocol} reasons without a diagnosis: {missing}"
    assert known_reasons(protocol) >= _TEST_LEVEL


@pytest.mark.parametrize("protocol", ["saml", "oidc"])
def test_no_known_reason_falls_back_to_the_generic_diagnosis(protocol: str) -> None:
    for reason in known_reasons(protocol):
        found = diagnose(result(reason, protocol=protocol), protocol=protocol, strategy="okta")
        assert not found.title.startswith("The login failed a check"), reason
        assert found.fix or found.explanation, reason


def test_an_unknown_reason_gets_a_generic_diagnosis_with_its_facts() -> None:
    found = diagnose(result("brand_new", {"thing": "value"}), protocol="saml", strategy=None)
    assert found.title == "The login failed a check (brand_new)"
    assert [(r.label, r.actual) for r in found.rows] == [("thing", "value")]


# -- vendor wording -------------------------------------------------------------------------

SAML_AUDIENCE_LABELS = {
    "okta": "**Audience URI (SP Entity ID)**",
    "entra": "**Identifier (Entity ID)**",
    "google": "**Entity ID**",
    "adfs": "**Relying party identifier**",
    "onelogin": "**Audience (EntityID)**",
    "jumpcloud": "**SP Entity ID**",
    "ping": "**Entity ID**",
    "keycloak": "**Client ID**",
    "generic-saml": "**Audience**",
}


@pytest.mark.parametrize("strategy", SAML_STRATEGIES)
def test_a_wrong_audience_is_fixed_in_the_vendors_own_words(strategy: str) -> None:
    facts = {"expected_audience": "https://sso.test/saml/con_1/metadata", "actual_audience": "x"}
    found = diagnose(result("wrong_audience", facts, strategy=strategy), protocol="saml",
                     strategy=None)  # fmt: skip
    assert SAML_AUDIENCE_LABELS[strategy] in found.fix[0].text
    assert found.fix[0].value == "https://sso.test/saml/con_1/metadata"
    assert found.product == product_name(strategy)
    assert [(r.expected, r.actual) for r in found.rows] == [
        ("https://sso.test/saml/con_1/metadata", "x")
    ]


def test_a_connection_without_a_product_gets_the_generic_wording() -> None:
    facts = {"expected_destination": "https://sso.test/acs", "actual_destination": "y"}
    found = diagnose(result("wrong_destination", facts, strategy=None), protocol="saml",
                     strategy=None)  # fmt: skip
    assert found.product is None
    assert "**ACS URL**" in found.fix[0].text


CLIENT_SECRET_PLACES = {
    "okta": "**Client Credentials**",
    "entra": "**Certificates & secrets**",
    "google": "**APIs & Services > Credentials**",
    "onelogin": "**SSO** tab",
    "jumpcloud": "**SSO** tab",
    "ping": "**Client Secret**",
    "keycloak": "**Credentials** tab",
    "generic-oidc": "**client secret**",
}


@pytest.mark.parametrize("strategy", OIDC_STRATEGIES)
def test_invalid_client_says_the_secret_is_wrong_in_the_vendors_words(strategy: str) -> None:
    facts = {"token_error": "invalid_client", "token_status": "401"}
    found = diagnose(
        result("token_error", facts, protocol="oidc", strategy=strategy),
        protocol="oidc",
        strategy=None,
    )
    assert found.title == "The client secret is wrong or expired"
    assert CLIENT_SECRET_PLACES[strategy] in fix_text(found)


@pytest.mark.parametrize("protocol", ["saml", "oidc"])
def test_every_vendor_sentence_is_for_a_known_topic(protocol: str) -> None:
    for strategy, table in vendor_tables(protocol).items():
        assert strategy in PRODUCTS
        assert set(table) <= topics(protocol), strategy


def test_a_self_hosted_idp_is_asked_to_fix_its_clock_a_cloud_one_is_not() -> None:
    facts = {
        "time_field": "Conditions NotOnOrAfter", "idp_time": "2026-01-01T11:00:00Z",
        "our_time": "2026-01-01T12:00:00Z", "clock_offset_seconds": "-3600",
        "allowed_skew_seconds": "120", "issue_instant": "2026-01-01T10:00:00Z",
        "issue_instant_offset_seconds": "-7200",
    }  # fmt: skip
    adfs = diagnose(result("expired", facts, strategy="adfs"), protocol="saml", strategy=None)
    assert "w32tm /resync" in fix_text(adfs)
    assert "2 hours behind" in adfs.explanation
    okta = diagnose(result("expired", facts, strategy="okta"), protocol="saml", strategy=None)
    assert "Okta's clock is not the suspect" in fix_text(okta)
    rows = {r.label: r for r in okta.rows}
    assert rows["Its distance from Gatehouse's clock"].actual == "-3600 s (1 hour behind our clock)"
    assert rows["Its distance from Gatehouse's clock"].expected == "within ± 120 s"


# -- particular diagnoses -------------------------------------------------------------------


def test_a_certificate_mismatch_compares_the_fingerprints() -> None:
    facts = {"trusted_fingerprints": "AA:BB\nCC:DD", "response_fingerprint": "EE:FF"}
    found = diagnose(result("signature_invalid", facts, strategy="entra"), protocol="saml",
                     strategy=None)  # fmt: skip
    assert found.rows[0].expected == "AA:BB\nCC:DD"
    assert found.rows[0].actual == "EE:FF"
    assert "**Certificate (Base64)**" in fix_text(found)


def test_an_idp_status_is_quoted_and_named() -> None:
    facts = {"status_code": "Requester / RequestDenied", "status_message": "<b>no</b>"}
    found = diagnose(result("idp_refused:Requester / RequestDenied", facts), protocol="saml",
                     strategy="okta")  # fmt: skip
    assert found.title == "Your identity provider denied the login"
    assert found.idp_said == "<b>no</b>"  # plain text: the template escapes it
    assert "**Assignments**" in fix_text(found)


def test_an_entra_groups_overage_is_named() -> None:
    found = diagnose(
        result(
            "missing_attributes", {"groups_overage": "yes", "received_claims": "email, sub"},
            protocol="oidc", strategy="entra", missing=["groups"],
            required=[{"claim": "groups", "names": ["groups"]}],
        ),
        protocol="oidc", strategy=None,
    )  # fmt: skip
    assert found.title == "Entra ID sent a groups overage marker instead of the groups"
    assert "**Groups assigned to the application**" in fix_text(found)


def test_missing_attributes_list_the_names_looked_for_and_what_came() -> None:
    test = result(
        "missing_attributes", {"received_attributes": "firstName, lastName"},
        strategy="google", missing=["email"],
        required=[{"claim": "email", "names": ["email", "Email", "mail"]},
                  {"claim": "given_name", "names": ["firstName"]}],
    )  # fmt: skip
    found = diagnose(test, protocol="saml", strategy=None)
    assert found.title == "Required attributes are missing: email"
    assert ("Email attribute", "one of: email, Email, mail", "not sent") in [
        (r.label, r.expected, r.actual) for r in found.rows
    ]
    assert "**SAML attribute mapping**" in fix_text(found)
    assert [s.value for s in found.fix if s.value] == ["email"]
    checks = {c.claim: c.status for c in attribute_checks(test)}
    assert checks == {"email": "missing", "given_name": "present"}


def test_google_hd_outside_the_verified_domains() -> None:
    found = diagnose(
        result("hosted_domain_not_verified", protocol="oidc", strategy="google",
               hosted_domain="other.test",
               email_domain={"domain": "other.test", "verified_domains": ["acme.test"]}),
        protocol="oidc", strategy=None,
    )  # fmt: skip
    assert [(r.expected, r.actual) for r in found.rows] == [("one of: acme.test", "other.test")]


@pytest.mark.parametrize(
    ("reason", "facts", "title"),
    [
        ("nonce_mismatch", {"nonce_in_token": "no"}, "The ID token answers another login (nonce)"),
        ("userinfo_subject_mismatch", {"id_token_sub": "a", "userinfo_sub": "b"},
         "The userinfo answer describes another user"),
        ("discovery_issuer_mismatch", {"expected_issuer": "https://a", "actual_issuer": "https://b"},
         "The discovery document names another issuer"),
        ("consumer_account", {"hd": "(none)"}, "A personal Google account, not a Workspace one"),
        ("wrong_tenant", {"expected_tenant": "t1", "actual_tenant": "t2"},
         "The ID token comes from another Entra tenant"),
        ("token_error", {"token_error": "invalid_grant"},
         "Your identity provider refused the login's code (invalid_grant)"),
        ("jwks_unavailable", {"url": "https://idp/jwks", "problem": "timeout"},
         "Gatehouse could not reach your identity provider's signing keys (jwks_uri)"),
        ("idp_refused:consent_required", {"idp_error": "consent_required"},
         "Your identity provider did not sign the user in (consent_required)"),
        ("idp_busy", {"in_flight": "4"}, "Your identity provider is answering too slowly"),
        ("idp_circuit_open", {"problem": "timeout"}, "Your identity provider has been failing"),
    ],
)  # fmt: skip
def test_oidc_diagnoses(reason: str, facts: dict[str, str], title: str) -> None:
    found = diagnose(result(reason, facts, protocol="oidc"), protocol="oidc", strategy="okta")
    assert found.title == title


def test_the_discovery_mismatch_offers_the_documents_issuer() -> None:
    facts = {"expected_issuer": "https://idp.test/a", "actual_issuer": "https://idp.test/a/"}
    found = diagnose(result("discovery_issuer_mismatch", facts, protocol="oidc"),
                     protocol="oidc", strategy=None)  # fmt: skip
    assert found.fix[0].value == "https://idp.test/a/"


def test_a_passed_test_notes_the_domain_still_to_verify_and_a_tested_draft() -> None:
    found = diagnose(
        result(None, email_domain={"domain": "acme.test", "status": "claimed"}, use_draft=True,
               identity={"email": "ann@acme.test"}),
        protocol="saml", strategy="okta",
    )  # fmt: skip
    assert found.passed
    assert found.title == "The test login worked"
    assert "signed ann@acme.test in" in found.explanation
    assert any("verify acme.test" in note for note in found.notes)
    assert any("your changes" in note for note in found.notes)


def test_evidence_is_text_and_a_cut_answer_says_so() -> None:
    test = result(
        None,
        evidence={"id_token": {"truncated": True, "json": '{"a": 1'}, "userinfo": {"b": [1]}},
    )
    shown = evidence(test)
    assert shown.id_token_claims is not None
    assert "cut" in shown.id_token_claims
    assert shown.userinfo == '{\n  "b": [\n    1\n  ]\n}'


# -- wording helpers ------------------------------------------------------------------------


def test_fix_text_is_escaped_before_its_labels_are_marked() -> None:
    assert str(emphasize("<b>**Save**</b> `x<y`")) == (
        "&lt;b&gt;<strong>Save</strong>&lt;/b&gt; <code>x&lt;y</code>"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45 seconds"), (-90, "90 seconds"), (600, "10 minutes"), (3600, "1 hour"),
     (7260, "2 hours 1 minute"), (3 * 86400, "3 days")],
)  # fmt: skip
def test_durations_read_as_a_person_says_them(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_signed_seconds_say_which_side() -> None:
    assert signed_seconds(-7200) == "-7200 s (2 hours behind our clock)"
    assert signed_seconds(30) == "+30 s (30 seconds ahead of our clock)"
    assert signed_seconds(0) == "0 s"


@pytest.mark.parametrize(
    ("strategy", "says"),
    [("okta", "**Encryption Algorithm** to **AES256-GCM**"), ("adfs", "allow AES-CBC")],
)
def test_cbc_without_the_opt_in_asks_for_gcm_in_the_vendors_words(strategy: str, says: str) -> None:
    facts = {
        "encryption_algorithm": "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        "encrypted_assertion": "yes",
        "allow_cbc_encryption": "no",
    }
    found = diagnose(result("cbc_not_enabled", facts, strategy=strategy), protocol="saml",
                     strategy=None)  # fmt: skip
    assert "AES-CBC" in found.title
    assert says in fix_text(found)
    assert found.rows[0].actual == facts["encryption_algorithm"]
