"""The reasons a login is refused for (broker/model/reasons.py): their stored values never
change, every one belongs to the part that gives it, and `idp_refused:<code>` reads back."""

from __future__ import annotations

import pytest

from broker.model.reasons import (
    BROKER_REASONS,
    CONNECTOR_REASONS,
    OIDC_REASONS,
    ROUTING_REASONS,
    SAML_REASONS,
    TEST_LOGIN_REASONS,
    Reason,
    idp_code,
    idp_refusal,
    parse_reason,
)

#: Every value as events, test results and the events API hold it. A change here is a
#: change to stored data and to what app teams alert on: add, never rename.
STORED = {
    "algorithm_not_allowed", "ambiguous_email", "answer_already_used", "assertion_unsigned",
    "at_hash_mismatch", "auth_time_missing", "bad_encryption_structure",
    "bad_signature_structure", "bad_subject", "browser_mismatch", "cbc_not_enabled",
    "connection_inactive", "consumer_account", "directory_user_inactive",
    "directory_user_unknown", "discovery_invalid",
    "discovery_issuer_mismatch", "discovery_refused", "discovery_unavailable", "duplicate_id",
    "email_domain_not_verified", "email_not_verified", "encryption_required", "expired",
    "flow_expired", "form_refused", "hosted_domain_not_verified", "id_token_malformed",
    "id_token_too_large", "idp_busy", "idp_circuit_open", "idp_refused",
    "in_response_to_mismatch", "internal_error", "invalid_email", "issued_in_future",
    "jwks_invalid", "jwks_refused", "jwks_unavailable", "malformed", "missing_attributes",
    "missing_audience", "missing_authn_statement", "missing_issuer_parameter",
    "missing_nameid", "missing_response", "missing_subject", "no_active_connection", "no_code",
    "no_common_algorithm", "no_request", "nonce_mismatch", "nonce_supported_claim",
    "not_yet_valid", "replayed", "response_too_large", "schema_invalid", "settings_changed",
    "signature_invalid", "stale_authentication", "subject_confirmation_invalid",
    "token_endpoint_refused", "token_endpoint_unavailable", "token_error",
    "token_response_invalid", "transient_nameid", "unknown_connection", "unknown_domain",
    "unknown_key", "unknown_organization", "unsigned", "unsolicited", "userinfo_invalid",
    "userinfo_refused", "userinfo_subject_mismatch", "userinfo_unavailable", "weak_algorithm",
    "wrong_audience", "wrong_connection", "wrong_destination", "wrong_issuer",
    "wrong_issuer_parameter", "wrong_number_of_assertions", "wrong_tenant",
}  # fmt: skip


def test_the_stored_values_are_the_released_ones() -> None:
    assert {reason.value for reason in Reason} == STORED
    for reason in Reason:
        assert reason == reason.value  # a member is its string: no migration, same JSON
        assert reason.name == reason.value.upper()


def test_every_reason_belongs_to_the_part_that_gives_it() -> None:
    grouped = ROUTING_REASONS | BROKER_REASONS | SAML_REASONS | OIDC_REASONS
    assert set(Reason) - grouped == set()
    assert CONNECTOR_REASONS == {"saml": SAML_REASONS, "oidc": OIDC_REASONS}
    assert TEST_LOGIN_REASONS <= BROKER_REASONS


def test_the_groups_say_who_gives_what() -> None:
    """A few that are easy to get wrong: shared checks, the bulkhead's, the login's own."""
    shared = {Reason.WRONG_AUDIENCE, Reason.SIGNATURE_INVALID, Reason.EXPIRED, Reason.NO_REQUEST}
    assert shared <= SAML_REASONS & OIDC_REASONS
    assert {Reason.IDP_BUSY, Reason.IDP_CIRCUIT_OPEN} <= OIDC_REASONS - SAML_REASONS
    assert Reason.UNSOLICITED in SAML_REASONS & BROKER_REASONS  # assertion, and no RelayState
    assert Reason.EMAIL_DOMAIN_NOT_VERIFIED not in SAML_REASONS | OIDC_REASONS


@pytest.mark.parametrize(
    ("code", "recorded"),
    [("access_denied", "idp_refused:access_denied"),
     ("Responder / AuthnFailed", "idp_refused:Responder / AuthnFailed")],
)  # fmt: skip
def test_a_refusal_the_idp_made_is_stored_with_its_code(code: str, recorded: str) -> None:
    assert idp_refusal(code) == recorded
    assert parse_reason(recorded) is Reason.IDP_REFUSED
    assert idp_code(recorded) == code


@pytest.mark.parametrize(
    ("recorded", "reason"),
    [("wrong_audience", Reason.WRONG_AUDIENCE), ("idp_refused", Reason.IDP_REFUSED),
     ("brand_new", None), ("wrong_audience:x", None), ("", None), (None, None)],
)  # fmt: skip
def test_a_stored_reason_reads_back_as_its_member_or_none(
    recorded: str | None, reason: Reason | None
) -> None:
    assert parse_reason(recorded) is reason
