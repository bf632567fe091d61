"""The redirect back, the token and userinfo answers, and the discovery document
(docs/security.md R-04, R-05, R-14, R-18, R-19)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from broker.upstream.base import (
    CallbackInput,
    UpstreamInvalid,
    UpstreamRejected,
    UpstreamUnavailable,
)
from tests.broker.upstream.oidc.conftest import Rp, RpFactory
from tests.support.mock_op import REMOVE, MockOp

# -- R-04 mix-up: the iss response parameter (RFC 9207) ---------------------------------------


def test_r04_an_answer_naming_another_issuer_is_refused(rp: Rp) -> None:
    assert rp.reason(iss="https://other-idp.test") == "wrong_issuer_parameter"


def test_r04_a_missing_iss_is_refused_when_the_idp_advertises_it(rp: Rp) -> None:
    assert rp.reason(iss=None) == "missing_issuer_parameter"


def test_r04_a_missing_iss_is_accepted_when_the_idp_does_not_send_it(rp: Rp, op: MockOp) -> None:
    op.discovery_changes = {"authorization_response_iss_parameter_supported": REMOVE}
    assert rp.login(iss=None).email == "ann@acme.test"


def test_r04_the_iss_parameter_is_checked_on_error_answers_too(rp: Rp) -> None:
    assert rp.reason(code=None, error="access_denied", iss="https://evil.test") == (
        "wrong_issuer_parameter"
    )


# -- R-18 error answers ---------------------------------------------------------------------


def test_r18_an_error_answer_is_a_refusal_with_a_fixed_code(rp: Rp) -> None:
    with pytest.raises(UpstreamRejected) as refused:
        rp.login(code=None, error="access_denied", error_description="<script>x</script>\r\n")
    assert refused.value.idp_code == "access_denied"
    assert "\r" not in refused.value.detail
    assert "\n" not in refused.value.detail


def test_r18_an_error_code_outside_the_standard_is_not_repeated(rp: Rp) -> None:
    with pytest.raises(UpstreamRejected) as refused:
        rp.login(code=None, error="<img src=x onerror=alert(1)>")
    assert refused.value.idp_code == "error"


def test_an_answer_with_neither_code_nor_error_is_refused(rp: Rp) -> None:
    assert rp.reason(code=None) == "no_code"


# -- R-19 token endpoint answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"token_type": "mac"}, "token_response_invalid"),
        ({"token_type": REMOVE}, "token_response_invalid"),
        ({"id_token": REMOVE}, "token_response_invalid"),
        ({"access_token": REMOVE}, "token_response_invalid"),
        ({"id_token": 7}, "token_response_invalid"),
    ],
)
def test_r19_a_token_response_of_the_wrong_shape_is_refused(
    rp: Rp, op: MockOp, changes: dict[str, object], reason: str
) -> None:
    op.token_changes = changes
    assert rp.reason() == reason


def test_r19_a_bearer_token_type_in_any_case_is_accepted(rp: Rp, op: MockOp) -> None:
    op.token_changes = {"token_type": "bearer"}
    assert rp.login().email == "ann@acme.test"


def test_r19_an_oversized_token_response_is_refused(rp: Rp, op: MockOp) -> None:
    op.token_changes = {"padding": "x" * (65 * 1024)}
    assert rp.reason() == "token_endpoint_refused"


def test_r19_an_id_token_for_another_client_is_refused(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"aud": "another-client"}
    assert rp.reason() == "wrong_audience"


def test_a_token_endpoint_server_error_is_unavailability(rp: Rp, op: MockOp) -> None:
    op.token_status = 503
    with pytest.raises(UpstreamUnavailable):
        rp.login()


def test_a_code_the_idp_refuses_is_a_token_error(rp: Rp, op: MockOp) -> None:
    flow, authorization = rp.begin()
    op.authorizations.clear()  # the IdP forgot it (redeemed already, expired)
    with pytest.raises(UpstreamInvalid) as refused:
        rp.connector.complete_login(flow, CallbackInput(query=op.answer(authorization)))
    assert refused.value.reason == "token_error"
    assert "invalid_grant" in refused.value.detail


def test_a_token_endpoint_that_redirects_is_refused(rp: Rp, op: MockOp) -> None:
    original = op.handle

    def redirecting(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(307, headers={"location": "https://evil.test/token"})
        return original(request)

    op.handle = redirecting  # type: ignore[method-assign]
    assert rp.reason() == "token_endpoint_refused"


# -- R-14 userinfo ------------------------------------------------------------------------------


def test_r14_userinfo_for_another_subject_is_refused(rp: Rp, op: MockOp) -> None:
    op.claims_changes = {"email": REMOVE, "email_verified": REMOVE}
    op.userinfo = {"sub": "someone-else", "email": "ann@acme.test"}
    assert rp.reason() == "userinfo_subject_mismatch"


def test_r14_email_verified_is_taken_from_the_emails_own_source(rp: Rp, op: MockOp) -> None:
    """The ID token says email_verified true but carries no email; userinfo has the email
    and says it is not verified: refused, not stitched together."""
    op.claims_changes = {"email": REMOVE, "email_verified": True}
    op.userinfo = {"sub": "user-123", "email": "ann@acme.test", "email_verified": False}
    assert rp.reason() == "email_not_verified"


# -- R-05 discovery ------------------------------------------------------------------------------


def test_r05_a_discovery_document_for_another_issuer_is_refused(rp: Rp, op: MockOp) -> None:
    op.discovery_changes = {"issuer": "https://evil.test"}
    with pytest.raises(UpstreamInvalid) as refused:
        rp.begin()
    assert refused.value.reason == "discovery_issuer_mismatch"


def test_discovery_is_cached_and_refreshed_after_an_hour(rp: Rp, op: MockOp) -> None:
    def fetches() -> int:
        return sum(r.url.path.endswith("openid-configuration") for r in op.requests)

    rp.login()
    rp.login()
    assert fetches() == 1
    rp.clock.advance(timedelta(minutes=61))
    rp.login()
    assert fetches() == 2


def test_a_failing_refresh_serves_the_last_good_document_for_a_day(rp: Rp, op: MockOp) -> None:
    rp.login()
    op.discovery_changes = {"issuer": "https://evil.test"}
    rp.clock.advance(timedelta(hours=2))
    assert rp.login().email == "ann@acme.test"
    rp.clock.advance(timedelta(hours=23))
    assert rp.reason() == "discovery_issuer_mismatch"


def test_manual_endpoints_need_no_discovery(make_rp: RpFactory, op: MockOp) -> None:
    rp = make_rp(
        endpoints={
            "authorization_endpoint": "https://op.test/authorize",
            "token_endpoint": "https://op.test/token",
            "jwks_uri": "https://op.test/jwks.json",
        }
    )
    assert rp.login(iss=None).email == "ann@acme.test"
    assert not any(r.url.path.endswith("openid-configuration") for r in op.requests)


def test_an_unreachable_discovery_is_unavailability(make_rp: RpFactory, op: MockOp) -> None:
    rp = make_rp()
    op.handle = lambda request: httpx.Response(503)  # type: ignore[method-assign]
    with pytest.raises(UpstreamUnavailable) as unavailable:
        rp.begin()
    assert unavailable.value.reason == "discovery_unavailable"
