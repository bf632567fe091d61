"""`broker/oidc/authorize.py` as plain functions: parameters in, a request or a refusal out.

No app, no store: the client table is a dict. tests/broker/oidc/test_authorize.py holds the
same rules to the whole `/authorize` route; here each check is a row, and the rows also say
which refusal is *shown* (the redirect is not trusted) and which is *redirected*.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.opaque import hash_secret
from broker.model.records import AuthorizationRequest, DownstreamClient
from broker.oidc.authorize import (
    MAX_MAX_AGE,
    AuthorizeRejected,
    InvalidClientRequest,
    Params,
    validate_authorization_request,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CALLBACK = "https://rp.test/callback"
CALLBACK_WITH_QUERY = "https://rp.test/cb?tenant=a"
PUBLIC_CALLBACK = "http://127.0.0.1:9999/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # 43 characters of base64url

CONFIDENTIAL = DownstreamClient(
    client_id="rp", name="RP", secret_hash=hash_secret("s" * 32),
    redirect_uris=(CALLBACK, CALLBACK_WITH_QUERY), created_at=NOW,
)  # fmt: skip
PUBLIC = DownstreamClient(
    client_id="spa", name="SPA", secret_hash=None, redirect_uris=(PUBLIC_CALLBACK,),
    created_at=NOW,
)  # fmt: skip
CLIENTS = {c.client_id: c for c in (CONFIDENTIAL, PUBLIC)}


class Directory:
    """The client table, remembering which ids were looked up."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    def find(self, client_id: str) -> DownstreamClient | None:
        self.looked_up.append(client_id)
        return CLIENTS.get(client_id)


def params(*repeated: tuple[str, str], **values: str | None) -> Params:
    """A valid confidential-client request with `values` replaced (None removes one) and
    `repeated` parameters sent a second time."""
    base: dict[str, str | None] = {
        "client_id": "rp",
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    base.update(values)
    out = {k: [v] for k, v in base.items() if v is not None}
    for name, value in repeated:
        out.setdefault(name, []).append(value)
    return out


def validate(request: Params) -> AuthorizationRequest:
    return validate_authorization_request(request, Directory().find)


def rejected(request: Params) -> AuthorizeRejected:
    with pytest.raises(AuthorizeRejected) as caught:
        validate(request)
    return caught.value


# -- before the redirect is trusted: shown, never redirected -----------------------------


@pytest.mark.parametrize(
    ("request_params", "reason"),
    [
        pytest.param(params(("client_id", "rp")), "client_id parameter was sent more than once",
                     id="client_id-twice"),
        pytest.param(params(("redirect_uri", "https://evil.test/cb")),
                     "redirect_uri parameter was sent more than once", id="redirect_uri-twice"),
        pytest.param(params(client_id=None), "no client_id", id="no-client_id"),
        pytest.param(params(client_id=""), "no client_id", id="empty-client_id"),
        pytest.param(params(client_id="nobody"), "not registered with Gatehouse", id="unknown"),
        pytest.param(params(client_id="r\x00p"), "not registered with Gatehouse", id="nul"),
        pytest.param(params(client_id="x" * 256), "not registered with Gatehouse", id="too-long"),
        pytest.param(params(redirect_uri=None), "no redirect_uri", id="no-redirect_uri"),
        pytest.param(params(redirect_uri=""), "no redirect_uri", id="empty-redirect_uri"),
        # RFC 9700 §4.1.3: byte for byte, nothing "equivalent".
        *[
            pytest.param(params(redirect_uri=uri), "not registered for this client", id=label)
            for label, uri in [
                ("trailing-slash", CALLBACK + "/"),
                ("dot-segments", CALLBACK + "/../evil"),
                ("prefix", CALLBACK + "x"),
                ("host-case", "https://RP.test/callback"),
                ("scheme-case", "HTTPS://rp.test/callback"),
                ("extra-query", CALLBACK + "?x=1"),
                ("explicit-port", "https://rp.test:443/callback"),
                ("fragment", CALLBACK + "#"),
                ("other-host", "https://evil.test/callback"),
                ("http-downgrade", "http://rp.test/callback"),
                ("query-reordered", "https://rp.test/cb?tenant=a&"),
                ("another-clients-uri", PUBLIC_CALLBACK),
            ]
        ],
    ],
)  # fmt: skip
def test_an_untrusted_client_or_redirect_is_shown_not_redirected(
    request_params: Params, reason: str
) -> None:
    with pytest.raises(InvalidClientRequest) as caught:
        validate(request_params)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_the_redirect_is_proven_before_anything_else_is_looked_at() -> None:
    """Everything else about this request is wrong too; the untrusted redirect_uri wins, so
    none of those errors is sent to https://evil.test."""
    request = params(
        ("scope", "openid"), redirect_uri="https://evil.test/cb", response_type="token",
        scope="email", request="eyJhbGciOiJub25lIn0.e30.", prompt="none",
    )  # fmt: skip
    with pytest.raises(InvalidClientRequest):
        validate(request)


@pytest.mark.parametrize("client_id", ["r\x00p", "r p", "é", "x" * 256, ""])
def test_an_id_no_client_can_have_is_never_looked_up(client_id: str) -> None:
    directory = Directory()
    with pytest.raises(InvalidClientRequest):
        validate_authorization_request(params(client_id=client_id), directory.find)
    assert directory.looked_up == []


# -- after the redirect is trusted: redirected back with the error -----------------------

_SINGLE_VALUED_TWICE = [
    pytest.param(params((name, value), **{name: value}), "invalid_request",
                 f"'{name}' was sent more than once", id=f"{name}-twice")
    for name, value in [
        ("response_type", "code"), ("scope", "openid"), ("state", "st-1"), ("nonce", "n-2"),
        ("prompt", "login"), ("max_age", "1"), ("login_hint", "a@acme.test"),
        ("code_challenge", CHALLENGE), ("code_challenge_method", "S256"),
        ("response_mode", "query"), ("organization", "org"), ("connection", "con"),
    ]
]  # fmt: skip
_TOO_LONG = [
    pytest.param(params(**{name: "a" * (limit + 1)}), "invalid_request", f"'{name}' is too long",
                 id=f"{name}-over-{limit}")
    for name, limit in [
        ("login_hint", 320), ("nonce", 512), ("organization", 255), ("connection", 255),
        ("ui_locales", 2048), ("claims", 2048),
    ]
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_params", "error", "description"),
    [
        *_SINGLE_VALUED_TWICE,
        *_TOO_LONG,
        pytest.param(params(**{"x" * 100: "a" * 2049}), "invalid_request",
                     f"'{'x' * 40}' is too long", id="long-name-cut-in-the-message"),
        pytest.param(params(request="eyJhbGciOiJub25lIn0.e30."), "request_not_supported",
                     "request objects are not supported", id="request"),
        pytest.param(params(request=""), "request_not_supported",
                     "request objects are not supported", id="empty-request"),
        pytest.param(params(request_uri="https://attacker.test/r.jwt"),
                     "request_uri_not_supported", "request_uri is not supported", id="request_uri"),
        pytest.param(params(response_type=None), "invalid_request", "'response_type' is required",
                     id="no-response_type"),
        pytest.param(params(response_type=""), "invalid_request", "'response_type' is required",
                     id="empty-response_type"),
        *[
            pytest.param(params(response_type=rt), "unsupported_response_type",
                         "only response_type=code is supported", id=f"response_type-{rt}")
            for rt in ["token", "id_token", "code id_token", "CODE", "code "]
        ],
        *[
            pytest.param(params(response_mode=mode), "invalid_request",
                         "only response_mode=query is supported", id=f"response_mode-{mode}")
            for mode in ["fragment", "form_post", "Query", "query.jwt"]
        ],
        *[
            pytest.param(params(scope=scope), "invalid_scope", "the 'openid' scope is required",
                         id=f"scope-{scope!r}")
            for scope in [None, "", "email profile", "OpenID", "openidemail", "open id"]
        ],
        pytest.param(params(code_challenge=None), "invalid_request",
                     "'code_challenge' is required with a method", id="method-without-challenge"),
        pytest.param(params(code_challenge_method=None), "invalid_request",
                     "code_challenge_method must be S256", id="no-method-means-plain"),
        *[
            pytest.param(params(code_challenge_method=method), "invalid_request",
                         "code_challenge_method must be S256", id=f"method-{method}")
            for method in ["plain", "s256", "S512"]
        ],
        *[
            pytest.param(params(code_challenge=challenge), "invalid_request",
                         "'code_challenge' is not a valid S256 value", id=label)
            for label, challenge in [
                ("42-chars", CHALLENGE[:-1]), ("44-chars", CHALLENGE + "A"),
                ("padded", CHALLENGE[:-1] + "="), ("plus", "+" + CHALLENGE[1:]),
                ("slash", "/" + CHALLENGE[1:]), ("newline", CHALLENGE + "\n"),
            ]
        ],
        pytest.param(params(code_challenge=None, code_challenge_method=None, client_id="spa",
                            redirect_uri=PUBLIC_CALLBACK),
                     "invalid_request", "PKCE (S256) is required for this client",
                     id="public-client-without-pkce"),
        *[
            pytest.param(params(prompt=prompt), "invalid_request", "unsupported 'prompt' value",
                         id=f"prompt-{prompt}")
            for prompt in ["create", "none login2", "NONE", "login,consent"]
        ],
        pytest.param(params(prompt="none"), "login_required",
                     "the user must log in at their identity provider", id="prompt-none"),
        *[
            pytest.param(params(prompt=prompt), "invalid_request", "prompt=none cannot be combined",
                         id=f"prompt-{prompt}")
            for prompt in ["none login", "consent none", "none none"]
        ],
        *[
            pytest.param(params(max_age=max_age), "invalid_request",
                         "'max_age' must be a whole number of seconds", id=f"max_age-{label}")
            for label, max_age in [
                ("word", "soon"), ("negative", "-1"), ("space", " 5"), ("underscore", "1_0"),
                ("superscript", "²"), ("arabic-indic", "١٢"), ("many-digits", "9" * 2048),
                ("over-max", str(MAX_MAX_AGE + 1)), ("decimal", "1.5"), ("plus", "+5"),
            ]
        ],
    ],
)  # fmt: skip
def test_a_trusted_client_gets_the_error_redirected(
    request_params: Params, error: str, description: str
) -> None:
    refusal = rejected(request_params)
    assert refusal.error == error
    assert description in refusal.description
    assert refusal.redirect_uri == request_params["redirect_uri"][0]
    assert refusal.state == "st-1"


@pytest.mark.parametrize(
    ("request_params", "error"),
    [
        # In the order of validate_authorization_request: repeats and sizes, request objects,
        # response_type, scope, PKCE, prompt, max_age.
        (params(("scope", "x"), request="r", response_type="token"), "invalid_request"),
        (params(request="r", response_type="token"), "request_not_supported"),
        (params(request_uri="u", response_type="token"), "request_uri_not_supported"),
        (params(response_type="token", scope="email"), "unsupported_response_type"),
        (params(scope="email", code_challenge_method="plain"), "invalid_scope"),
        (params(code_challenge_method="plain", prompt="none"), "invalid_request"),
        (params(prompt="none", max_age="soon"), "login_required"),
    ],
)  # fmt: skip
def test_the_first_failed_check_in_order_is_the_error(request_params: Params, error: str) -> None:
    assert rejected(request_params).error == error


def test_the_error_goes_to_the_registered_uri_the_request_named() -> None:
    refusal = rejected(params(redirect_uri=CALLBACK_WITH_QUERY, scope="email"))
    assert refusal.redirect_uri == CALLBACK_WITH_QUERY


@pytest.mark.parametrize(
    ("state", "echoed"),
    [
        (None, None),
        ("", None),
        ("a b+c/d=é&x?y#z", "a b+c/d=é&x?y#z"),
        ("s" * 2048, "s" * 2048),
        # Too long to be sent back: the refusal of it is redirected without a state.
        ("s" * 2049, None),
    ],
)
def test_the_state_a_refusal_carries(state: str | None, echoed: str | None) -> None:
    refusal = rejected(params(state=state, scope="email"))
    assert refusal.state == echoed


def test_an_overlong_state_is_itself_refused() -> None:
    refusal = rejected(params(state="s" * 2049))
    assert (refusal.error, refusal.description) == ("invalid_request", "'state' is too long")
    assert refusal.state is None


def test_the_refusal_is_a_value() -> None:
    one = rejected(params(prompt="none"))
    assert one == rejected(params(prompt="none"))
    assert one != rejected(params(prompt="none", state="other"))


# -- accepted -----------------------------------------------------------------------------


def test_a_valid_request_becomes_the_flow_request() -> None:
    request = params(
        login_hint="ann@acme.test", prompt="login consent", max_age="300", response_mode="query",
        organization="org_acme", connection="con_acme", ui_locales="fr",
    )  # fmt: skip
    assert validate(request) == AuthorizationRequest(
        client_id="rp",
        redirect_uri=CALLBACK,
        scope=("openid", "profile", "email"),
        state="st-1",
        nonce="n-1",
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
        login_hint="ann@acme.test",
        prompt=("login", "consent"),
        max_age=300,
        organization_hint="org_acme",
        connection_hint="con_acme",
    )


def test_a_minimal_request_leaves_the_optional_fields_empty() -> None:
    request = params(scope="openid", state=None, nonce=None, code_challenge=None,
                     code_challenge_method=None)  # fmt: skip
    assert validate(request) == AuthorizationRequest(
        client_id="rp", redirect_uri=CALLBACK, scope=("openid",)
    )


def test_empty_optional_parameters_count_as_absent() -> None:
    request = params(state="", nonce="", login_hint="", prompt="", max_age="", organization="",
                     connection="", response_mode="", code_challenge="",
                     code_challenge_method="")  # fmt: skip
    authz = validate(request)
    assert authz == AuthorizationRequest(
        client_id="rp", redirect_uri=CALLBACK, scope=("openid", "profile", "email")
    )


@pytest.mark.parametrize(
    ("scope", "kept"),
    [
        ("openid", ("openid",)),
        ("email openid", ("openid", "email")),
        # Unknown scopes are ignored (OIDC Core §5.4), the known ones kept in one order.
        ("offline_access profile openid  email   phone", ("openid", "profile", "email")),
        ("openid openid", ("openid",)),
        ("\topenid\nemail ", ("openid", "email")),
    ],
)
def test_scopes_kept_are_the_supported_ones(scope: str, kept: tuple[str, ...]) -> None:
    assert validate(params(scope=scope)).scope == kept


@pytest.mark.parametrize(
    ("prompt", "kept"),
    [("login", ("login",)), ("select_account consent", ("select_account", "consent"))],
)
def test_interactive_prompts_are_kept(prompt: str, kept: tuple[str, ...]) -> None:
    assert validate(params(prompt=prompt)).prompt == kept


@pytest.mark.parametrize(
    ("max_age", "seconds"), [("0", 0), ("007", 7), (str(MAX_MAX_AGE), MAX_MAX_AGE)]
)
def test_max_age_is_read_as_seconds(max_age: str, seconds: int) -> None:
    assert validate(params(max_age=max_age)).max_age == seconds


def test_a_confidential_client_may_omit_pkce() -> None:
    authz = validate(params(code_challenge=None, code_challenge_method=None))
    assert (authz.code_challenge, authz.code_challenge_method) == (None, None)


def test_a_public_client_with_pkce_is_accepted() -> None:
    authz = validate(params(client_id="spa", redirect_uri=PUBLIC_CALLBACK))
    assert (authz.client_id, authz.code_challenge) == ("spa", CHALLENGE)


@pytest.mark.parametrize(
    ("name", "longest"),
    [("state", 2048), ("login_hint", 320), ("nonce", 512), ("organization", 255),
     ("connection", 255), ("ui_locales", 2048)],
)  # fmt: skip
def test_each_parameter_may_be_as_long_as_its_limit(name: str, longest: int) -> None:
    validate(params(**{name: "a" * longest}))
