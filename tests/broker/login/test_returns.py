"""Which OAuth error a refusal is told to the client as, and the description's charset."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from broker.login.returns import (
    INVALID_ANSWER,
    MISCONFIGURED,
    STAY_ON_THE_PAGE,
    UNREACHABLE,
    ClientError,
    client_error,
)
from broker.model.reasons import BROKER_REASONS, ROUTING_REASONS, Reason, idp_refusal

#: RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6: the errors an authorization response may carry.
AUTHORIZATION_ERRORS = {
    "access_denied", "server_error", "temporarily_unavailable", "login_required",
}  # fmt: skip


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_is_told_with_an_authorization_error_or_stays_a_page(reason: Reason) -> None:
    told = client_error(reason)
    if reason in STAY_ON_THE_PAGE:
        assert told is None
    else:
        assert told is not None
        assert told.error in AUTHORIZATION_ERRORS


def test_routing_reasons_and_the_flows_own_refusals_never_reach_a_client() -> None:
    """The flow's own refusals (another browser, a forged form, an expired or unsolicited
    answer) prove nothing about who is asking (RFC 9700 §4.11.2)."""
    flow_own = {Reason.FLOW_EXPIRED, Reason.UNSOLICITED, Reason.FORM_REFUSED,
                Reason.BROWSER_MISMATCH, Reason.WRONG_CONNECTION}  # fmt: skip
    assert ROUTING_REASONS | flow_own <= STAY_ON_THE_PAGE
    assert STAY_ON_THE_PAGE <= ROUTING_REASONS | BROKER_REASONS


def test_verification_failures_share_one_code() -> None:
    """X-03: which check failed is for the audit log, not the URL."""
    for reason in (Reason.SIGNATURE_INVALID, Reason.WRONG_AUDIENCE, Reason.NONCE_MISMATCH,
                   Reason.WRONG_NUMBER_OF_ASSERTIONS, Reason.WRONG_TENANT):  # fmt: skip
        assert client_error(reason) == ClientError("access_denied", INVALID_ANSWER)


def test_what_a_person_can_act_on_is_told_by_its_own_code() -> None:
    assert client_error(idp_refusal("Responder / AuthnFailed")) == ClientError(
        "access_denied", "idp_refused"
    )
    assert client_error(Reason.EXPIRED) == ClientError("login_required", "expired")
    for reason in UNREACHABLE:
        assert client_error(reason) == ClientError("temporarily_unavailable", "idp_unavailable")
    for reason in MISCONFIGURED:
        assert client_error(reason) == ClientError("server_error", "idp_misconfigured")


def test_a_reason_this_release_does_not_give_stays_a_page() -> None:
    assert client_error("retired_reason") is None


def test_the_description_names_the_code_and_the_reference() -> None:
    told = ClientError("access_denied", "idp_refused")
    assert told.description("0ab78e05b773fa9b") == "idp_refused (reference 0ab78e05b773fa9b)"
    assert told.description(None) == "idp_refused"


@given(st.text(max_size=40))
def test_the_description_keeps_to_the_charset_oauth_allows(reference: str) -> None:
    """RFC 6749 §4.1.2.1: %x20-21 / %x23-5B / %x5D-7E; no quote, backslash, CR, LF or TAB
    (P-02), whatever a reference holds."""
    description = ClientError("access_denied", "idp_refused").description(reference)
    assert all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in description)
