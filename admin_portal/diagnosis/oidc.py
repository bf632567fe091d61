"""Diagnoses of an OpenID Connect test login's refusals, one per reason the OIDC connector
gives (broker/upstream/oidc), with the facts it recorded and the fix in the vendor's words."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from admin_portal.diagnosis.case import (
    Case,
    audience_row,
    clock_diagnosis,
    clock_rows,
    issuer_row,
)
from admin_portal.diagnosis.model import Diagnosis, FixStep, Row
from broker.model.reasons import Reason, idp_code

_TEST_AGAIN = FixStep("Save the change there, then run the test again.")


def wrong_issuer(case: Case) -> Diagnosis:
    on_redirect = case.reason in (Reason.WRONG_ISSUER_PARAMETER, Reason.MISSING_ISSUER_PARAMETER)
    where = "the login's answer (its `iss` parameter)" if on_redirect else "the ID token"
    return case.diagnosis(
        "The answer comes from an unexpected issuer",
        f"The issuer in {where} is not the one in Gatehouse's settings. An identity "
        "provider must use one issuer everywhere: in its discovery document, its answers "
        "and its tokens. A mismatch is how one IdP's answer is passed off as another's, so "
        "it is refused.",
        rows=(issuer_row(case),),
        fix=(case.step("issuer", case.fact("expected_issuer")),),
    )


def discovery_issuer_mismatch(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The discovery document names another issuer",
        "Gatehouse reads your identity provider's discovery document at the issuer in its "
        "settings; the document says its issuer is another one. The issuer in Gatehouse's "
        "settings is probably close but not exact (a missing path, a trailing slash).",
        rows=(issuer_row(case), Row("Discovery document", "", case.fact("discovery_url"))),
        fix=(
            FixStep(
                "Set Gatehouse's issuer to the one your identity provider's discovery "
                "document names, if that is your identity provider:",
                case.fact("actual_issuer"),
            ),
            case.step("issuer", case.fact("actual_issuer")),
        ),
    )


def wrong_audience(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token was issued to another application (wrong client ID)",
        "An ID token names the application it is for (`aud`, and `azp` when it has "
        "several); it must be the client ID in Gatehouse's settings. The client ID in "
        "Gatehouse's settings is not this application's at your identity provider.",
        rows=(
            audience_row(case, "Client ID (aud)"),
            Row("Authorized party (azp)", "absent, or the client ID", case.fact("actual_azp")),
        ),
        fix=(case.step("client_id", case.fact("actual_audience")), _TEST_AGAIN),
    )


def expired(case: Case) -> Diagnosis:
    return clock_diagnosis(case, "The ID token had expired when it arrived", late=True)


def not_yet_valid(case: Case) -> Diagnosis:
    return clock_diagnosis(case, "The ID token is not valid yet: the clocks disagree", late=False)


def stale_authentication(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The user signed in too long ago",
        "The application asked for a recent login (max_age), and the identity provider "
        "reports an older one (auth_time) instead of asking the user to sign in again.",
        rows=clock_rows(case),
        fix=(FixStep("Sign out at your identity provider, then run the test again."),),
    )


def nonce_mismatch(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token answers another login (nonce)",
        "Each login sends a fresh random `nonce`, and the ID token must carry it back. "
        "This token carries another one (or none): it was issued for a different login, "
        "which is how a stolen token would be replayed.",
        rows=(Row("nonce in the token", "this login's", case.fact("nonce_in_token")),),
        fix=(
            FixStep("Start a new test from this portal."),
            FixStep(
                "If it keeps happening, your identity provider does not return the nonce it "
                "was sent: check that the application is an OpenID Connect web application."
            ),
        ),
    )


def unknown_key(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token is signed with a key your identity provider does not publish",
        "Gatehouse verifies ID tokens only with the keys your identity provider publishes "
        "at its jwks_uri; the token names a key (kid) that is not there.",
        rows=(
            Row("Key id (kid)", f"one of: {case.fact('published_kids')}", case.fact("token_kid")),
            Row("Keys published at", "", case.fact("jwks_uri")),
        ),
        fix=(case.step("keys"),),
    )


def signature_invalid(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token's signature does not verify",
        "The token names a key your identity provider publishes, but the signature does not "
        "verify with it: the token was changed, or signed with another key under the same "
        "key id.",
        rows=(Row("Key id (kid)", "a published key that verifies", case.fact("token_kid")),),
        fix=(case.step("keys"), case.step("logs")),
    )


def algorithm_not_allowed(case: Case) -> Diagnosis:
    actual = case.fact("actual_algorithm")
    unsigned = actual.lower() == "none"
    return case.diagnosis(
        "The ID token is not signed"
        if unsigned
        else "The ID token is signed with an algorithm Gatehouse refuses",
        "Gatehouse accepts ID tokens signed with an asymmetric algorithm only (RS256, "
        "ES256...): an unsigned token, or one signed with the client secret (HS256), could "
        "be forged.",
        rows=(Row("Signature algorithm", case.fact("allowed_algorithms"), actual),),
        fix=(case.step("signing_alg"), _TEST_AGAIN),
    )


def token_error(case: Case) -> Diagnosis:
    error = case.fact("token_error", "other")
    rows = (
        Row("Token endpoint answer", "tokens", f"{error} (HTTP {case.fact('token_status')})"),
        Row("Client authentication", "", case.fact("client_auth_method")),
    )
    said = case.facts.get("idp_error_description") or None
    if error == "invalid_client":
        return case.diagnosis(
            "The client secret is wrong or expired",
            "Your identity provider refused Gatehouse's client credentials (invalid_client): "
            "the client secret in Gatehouse's settings is not the application's current one "
            "(it expired, was regenerated, or belongs to another application), or the client "
            "authentication method differs.",
            rows=rows,
            fix=(case.step("client_secret"), _TEST_AGAIN),
            idp_said=said,
        )
    if error == "invalid_grant":
        return case.diagnosis(
            "Your identity provider refused the login's code (invalid_grant)",
            "The authorization code was already used, has expired, or was issued for another "
            "redirect URI or login. A code works once, for a minute or so.",
            rows=rows,
            fix=(
                FixStep("Start a new test from this portal and finish it without waiting."),
                case.step("redirect_uri", case.values.get("redirect_uri")),
            ),
            idp_said=said,
        )
    if error == "unauthorized_client":
        return case.diagnosis(
            "The application may not use the authorization code flow",
            "Your identity provider does not allow this application to redeem codes "
            "(unauthorized_client).",
            rows=rows,
            fix=(case.step("grant"), _TEST_AGAIN),
            idp_said=said,
        )
    return case.diagnosis(
        "Your identity provider's token endpoint refused the request",
        f"It answered {error} instead of tokens.",
        rows=rows,
        fix=(case.step("logs"), case.step("client_secret")),
        idp_said=said,
    )


def token_response_invalid(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The token response has no usable ID token",
        "Gatehouse needs an ID token and a Bearer access token from the token endpoint. "
        "Usually the `openid` scope was not granted to the application.",
        rows=(
            Row("Tokens received", "id_token, access_token", case.fact("tokens_received")),
            Row("token_type", "Bearer", case.fact("token_type")),
        ),
        fix=(case.step("claims"),),
    )


#: What could not be fetched, by reason.
_FETCHED: Mapping[Reason, str] = {
    Reason.TOKEN_ENDPOINT_UNAVAILABLE: "token endpoint",
    Reason.TOKEN_ENDPOINT_REFUSED: "token endpoint",
    Reason.USERINFO_UNAVAILABLE: "userinfo endpoint",
    Reason.USERINFO_REFUSED: "userinfo endpoint",
    Reason.DISCOVERY_UNAVAILABLE: "discovery document",
    Reason.DISCOVERY_REFUSED: "discovery document",
    Reason.JWKS_UNAVAILABLE: "signing keys (jwks_uri)",
    Reason.JWKS_REFUSED: "signing keys (jwks_uri)",
}
#: The outbound guard refused the URL (the others: the request failed).
_URL_REFUSED = frozenset(
    {Reason.TOKEN_ENDPOINT_REFUSED, Reason.USERINFO_REFUSED, Reason.DISCOVERY_REFUSED,
     Reason.JWKS_REFUSED}
)  # fmt: skip


def unreachable(case: Case) -> Diagnosis:
    what = next(name for reason, name in _FETCHED.items() if reason is case.reason)
    refused = case.reason in _URL_REFUSED
    return case.diagnosis(
        f"Gatehouse could not reach your identity provider's {what}",
        "Gatehouse does not fetch URLs that are not https or that point to a private "
        "network, to protect itself."
        if refused
        else "The request failed or timed out, or the server answered with an error.",
        rows=(
            Row("URL", "reachable over https", case.fact("url")),
            Row("Problem", "", case.fact("problem")),
        ),
        fix=(
            FixStep(
                "Check the issuer in Gatehouse's settings and that your identity provider is "
                "reachable from the internet, then run the test again."
            ),
        ),
    )


def unusable_document(case: Case) -> Diagnosis:
    what = (
        "discovery document"
        if case.reason is Reason.DISCOVERY_INVALID
        else "key set (JWKS)"
        if case.reason is Reason.JWKS_INVALID
        else "userinfo answer"
    )
    return case.diagnosis(
        f"Your identity provider's {what} cannot be used",
        f"The {what} is not valid JSON or lacks required entries.",
        rows=(Row("Missing", "", case.fact("missing", "")),) if "missing" in case.facts else (),
        fix=(case.step("issuer", case.values.get("issuer")),),
    )


def no_common_algorithm(case: Case) -> Diagnosis:
    return algorithm_not_allowed(case)


def userinfo_subject_mismatch(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The userinfo answer describes another user",
        "The userinfo endpoint must describe the user of the ID token (the same `sub`); it "
        "described another, so its claims cannot be trusted for this login.",
        rows=(Row("sub", case.fact("id_token_sub"), case.fact("userinfo_sub")),),
        fix=(case.step("logs"),),
    )


def wrong_tenant(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token comes from another Entra tenant",
        "The token's tenant (tid) is not the one in Gatehouse's issuer: the user signed in "
        "with an account of another organization.",
        rows=(Row("Tenant (tid)", case.fact("expected_tenant"), case.fact("actual_tenant")),),
        fix=(
            FixStep(
                "In the app registration's **Authentication**, set **Supported account "
                "types** to **Accounts in this organizational directory only**, and sign in "
                "with an account of your tenant."
            ),
        ),
    )


def consumer_account(case: Case) -> Diagnosis:
    return case.diagnosis(
        "A personal Google account, not a Workspace one",
        "The ID token has no `hd` (hosted domain) claim: the user signed in with a "
        "personal Google account. Only accounts of your Google Workspace can sign in.",
        rows=(Row("Hosted domain (hd)", "your Workspace domain", case.fact("hd")),),
        fix=(FixStep("Sign in with an account of your organization's Google Workspace."),),
    )


def email_not_verified(case: Case) -> Diagnosis:
    return case.diagnosis(
        "Your identity provider says the email address is not verified",
        "Gatehouse uses the email address only when the identity provider vouches for it "
        "(email_verified true); otherwise someone could type another person's address.",
        rows=(
            Row("email_verified", "true", case.fact("email_verified")),
            Row("email", "", case.fact("email")),
        ),
        fix=(case.step("email_verified"), _TEST_AGAIN),
    )


def refused(case: Case) -> Diagnosis:
    """The IdP answered the login with an OAuth error instead of a code."""
    error = case.fact("idp_error", idp_code(case.code))
    said = case.facts.get("idp_error_description") or None
    rows = (Row("Answer", "a code", f"error={error}"),)
    if error in ("access_denied", "consent_required", "interaction_required"):
        return case.diagnosis(
            "The user was not let in (access_denied)"
            if error == "access_denied"
            else f"Your identity provider did not sign the user in ({error})",
            "Your identity provider refused the login: the user is not assigned to this "
            "application, declined consent, or a policy blocked them.",
            rows=rows,
            fix=(case.step("assignment"), case.step("logs")),
            idp_said=said,
        )
    if error in ("invalid_request", "unauthorized_client", "unsupported_response_type"):
        return case.diagnosis(
            f"Your identity provider refused Gatehouse's request ({error})",
            "The application's settings there do not allow this login request: usually "
            "the redirect URI is not registered, or the application is not a web "
            "application using the authorization code flow.",
            rows=rows,
            fix=(case.step("redirect_uri", case.values.get("redirect_uri")), case.step("grant")),
            idp_said=said,
        )
    if error == "invalid_scope":
        return case.diagnosis(
            "Your identity provider refused the scopes (invalid_scope)",
            "The application may not request the scopes Gatehouse asks for.",
            rows=rows,
            fix=(case.step("claims"),),
            idp_said=said,
        )
    return case.diagnosis(
        f"Your identity provider refused the login ({error})",
        "It answered with an error instead of a code.",
        rows=rows,
        fix=(case.step("logs"),),
        idp_said=said,
    )


def malformed_token(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token could not be used",
        "The ID token is not a signed JWT Gatehouse can read (too large, not three parts, "
        "a critical header, missing exp/iat/sub, or a nonce_supported claim).",
        fix=(case.step("signing_alg"), case.step("logs")),
    )


def at_hash_mismatch(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The ID token does not match its access token (at_hash)",
        "The ID token's at_hash is not the hash of the access token it came with: the "
        "tokens were mixed up or changed on the way.",
        fix=(FixStep("Start a new test; if it persists, send the reference below."),),
    )


def no_code(case: Case) -> Diagnosis:
    return case.diagnosis(
        "Your identity provider's answer carried no code",
        "The answer at Gatehouse's redirect URI had neither a code nor an error.",
        fix=(case.step("redirect_uri", case.values.get("redirect_uri")),),
    )


#: Every reason the OIDC connector gives (`OIDC_REASONS`) has its diagnosis here or in
#: `COMMON_DIAGNOSES`; the tests enumerate them.
OIDC_DIAGNOSES: Mapping[Reason, Callable[[Case], Diagnosis]] = {
    Reason.IDP_REFUSED: refused,
    Reason.WRONG_ISSUER: wrong_issuer,
    Reason.WRONG_ISSUER_PARAMETER: wrong_issuer,
    Reason.MISSING_ISSUER_PARAMETER: wrong_issuer,
    Reason.DISCOVERY_ISSUER_MISMATCH: discovery_issuer_mismatch,
    Reason.WRONG_AUDIENCE: wrong_audience,
    Reason.EXPIRED: expired,
    Reason.ISSUED_IN_FUTURE: not_yet_valid,
    Reason.NOT_YET_VALID: not_yet_valid,
    Reason.STALE_AUTHENTICATION: stale_authentication,
    Reason.AUTH_TIME_MISSING: stale_authentication,
    Reason.NONCE_MISMATCH: nonce_mismatch,
    Reason.UNKNOWN_KEY: unknown_key,
    Reason.SIGNATURE_INVALID: signature_invalid,
    Reason.ALGORITHM_NOT_ALLOWED: algorithm_not_allowed,
    Reason.NO_COMMON_ALGORITHM: no_common_algorithm,
    Reason.TOKEN_ERROR: token_error,
    Reason.TOKEN_RESPONSE_INVALID: token_response_invalid,
    Reason.TOKEN_ENDPOINT_UNAVAILABLE: unreachable,
    Reason.TOKEN_ENDPOINT_REFUSED: unreachable,
    Reason.USERINFO_UNAVAILABLE: unreachable,
    Reason.USERINFO_REFUSED: unreachable,
    Reason.DISCOVERY_UNAVAILABLE: unreachable,
    Reason.DISCOVERY_REFUSED: unreachable,
    Reason.JWKS_UNAVAILABLE: unreachable,
    Reason.JWKS_REFUSED: unreachable,
    Reason.DISCOVERY_INVALID: unusable_document,
    Reason.JWKS_INVALID: unusable_document,
    Reason.USERINFO_INVALID: unusable_document,
    Reason.USERINFO_SUBJECT_MISMATCH: userinfo_subject_mismatch,
    Reason.WRONG_TENANT: wrong_tenant,
    Reason.CONSUMER_ACCOUNT: consumer_account,
    Reason.EMAIL_NOT_VERIFIED: email_not_verified,
    Reason.ID_TOKEN_TOO_LARGE: malformed_token,
    Reason.ID_TOKEN_MALFORMED: malformed_token,
    Reason.MISSING_SUBJECT: malformed_token,
    Reason.NONCE_SUPPORTED_CLAIM: malformed_token,
    Reason.AT_HASH_MISMATCH: at_hash_mismatch,
    Reason.NO_CODE: no_code,
}
