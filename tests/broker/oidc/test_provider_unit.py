"""`broker/oidc/provider.py` without the app or a database.

The store is an in-memory table of the few repositories the provider touches (its own
protocol, so nothing else is faked); the signing key and the tokens are real, and ID tokens
are verified as a relying party verifies them. The database-backed behaviour (atomic
redemption, revocation, expiry) is held to the store's contract in tests/broker/store and to
the whole route in tests/broker/oidc/test_token.py and friends.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from broker.clock import FixedClock
from broker.errors import UserFacingError
from broker.http import HttpRequest, HttpResponse, Redirect
from broker.keys.manager import SigningKey
from broker.model.opaque import hash_secret
from broker.model.records import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    DownstreamClient,
    PendingAuthorization,
)
from broker.oidc.discovery import build_discovery_document
from broker.oidc.provider import Provider
from broker.settings import TokenSettings
from broker.store import CodeReplayed, NotFound, UnitOfWork

ISSUER = "https://gatehouse.test"
CALLBACK = "https://rp.test/callback"
SECRET = "s" * 43
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode()[:43]
CLIENT = DownstreamClient(
    client_id="rp", name="RP", secret_hash=hash_secret(SECRET), redirect_uris=(CALLBACK,),
    created_at=START,
)  # fmt: skip
IDENTITY = {"sub": "usr_1", "email": "ann@acme.test", "email_verified": True}
TOKENS = TokenSettings()


# -- an in-memory store: the repositories the provider uses, nothing more -----------------


@dataclass
class Transaction:
    """One table per repository; `Provider` reaches no other."""

    client_table: dict[str, DownstreamClient] = field(default_factory=dict)
    flow_table: list[PendingAuthorization] = field(default_factory=list)
    code_table: dict[str, AuthorizationCode] = field(default_factory=dict)
    redeemed: set[str] = field(default_factory=set)
    revoked: set[str] = field(default_factory=set)
    token_table: dict[str, AccessToken] = field(default_factory=dict)

    @property
    def clients(self) -> Transaction:
        return self

    @property
    def flows(self) -> Transaction:
        return self

    @property
    def codes(self) -> Transaction:
        return self

    @property
    def access_tokens(self) -> Transaction:
        return self

    def get(self, key: str, *, now: datetime | None = None) -> Any:
        """`clients.get(client_id)` or `access_tokens.get(token_hash, now=…)`."""
        if now is None:
            if key in self.client_table:
                return self.client_table[key]
            raise NotFound(key)
        token = self.token_table.get(key)
        if token is None or token.code_hash in self.revoked or now >= token.expires_at:
            raise NotFound(key)
        return token

    def create(self, flow: PendingAuthorization) -> None:
        self.flow_table.append(flow)

    def add(self, value: AuthorizationCode | AccessToken) -> None:
        if isinstance(value, AuthorizationCode):
            self.code_table[value.code_hash] = value
        else:
            self.token_table[value.token_hash] = value

    def consume(self, code_hash: str, *, now: datetime) -> AuthorizationCode | CodeReplayed:
        code = self.code_table.get(code_hash)
        if code is None:
            raise NotFound(code_hash)
        if code_hash in self.redeemed:
            return CodeReplayed(code.client_id)
        if now >= code.expires_at:
            raise NotFound(code_hash)
        self.redeemed.add(code_hash)
        return code

    def revoke(self, code_hash: str, *, now: datetime) -> None:
        self.revoked.add(code_hash)


class MemoryStore:
    def __init__(self) -> None:
        self.tables = Transaction(client_table={CLIENT.client_id: CLIENT})
        self.transactions = 0

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        self.transactions += 1
        yield cast(UnitOfWork, self.tables)

    def check(self) -> None:
        """Always ready: there is no database behind it."""


@dataclass
class Signer:
    key: SigningKey
    used: int = 0

    def signing_key(self) -> SigningKey:
        self.used += 1
        return self.key

    def public_jwks(self) -> Mapping[str, object]:
        return {"keys": [{**self.key.key.as_dict(private=False), "kid": self.key.kid}]}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey(kid="k1", alg="RS256", key=RSAKey.generate_key(2048, private=True))


@dataclass
class World:
    provider: Provider
    store: MemoryStore
    signer: Signer
    clock: FixedClock


@pytest.fixture
def world(key: SigningKey) -> World:
    store, signer, clock = MemoryStore(), Signer(key), FixedClock(START)
    provider = Provider(issuer=ISSUER, store=store, signer=signer, clock=clock, tokens=TOKENS)
    return World(provider, store, signer, clock)


def query_of(redirect: Redirect) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect.location).query).items()}


def authorize_request(**overrides: str | None) -> HttpRequest:
    values: dict[str, str | None] = {
        "client_id": "rp", "redirect_uri": CALLBACK, "response_type": "code",
        "scope": "openid email", "state": "st-1", "nonce": "n-1", "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }  # fmt: skip
    values.update(overrides)
    return HttpRequest(
        method="GET", url=f"{ISSUER}/authorize",
        query={k: [v] for k, v in values.items() if v is not None},
    )  # fmt: skip


def flow(**request: Any) -> PendingAuthorization:
    authz = AuthorizationRequest(
        client_id="rp", redirect_uri=CALLBACK, scope=("openid", "email"), state="st-1",
        nonce="n-1", code_challenge=CHALLENGE, code_challenge_method="S256",
    )  # fmt: skip
    return PendingAuthorization(
        id="flow-1", request=replace(authz, **request), created_at=START,
        expires_at=START + TOKENS.flow_ttl,
    )  # fmt: skip


def finish(world: World, pending: PendingAuthorization | None = None) -> str:
    """The code `finish` sends to the client."""
    with world.store.unit_of_work() as uow:
        redirect = world.provider.finish(
            uow, pending or flow(), IDENTITY, auth_time=START - timedelta(seconds=5)
        )
    return query_of(redirect)["code"]


def token_request(code: str, **form: str) -> HttpRequest:
    return HttpRequest.post(
        f"{ISSUER}/token",
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
         "client_id": "rp", "client_secret": SECRET, "code_verifier": VERIFIER, **form},
    )  # fmt: skip


def body_of(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.body)
    return body


# -- metadata -----------------------------------------------------------------------------


def test_discovery_is_the_document_for_the_issuer(world: World) -> None:
    response = world.provider.discovery()
    assert body_of(response) == build_discovery_document(ISSUER)
    assert response.headers == {
        "Content-Type": "application/json", "Cache-Control": "public, max-age=3600"
    }  # fmt: skip


def test_jwks_is_what_the_signer_publishes_with_a_short_cache(world: World) -> None:
    response = world.provider.jwks()
    assert body_of(response) == world.signer.public_jwks()
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Content-Type"] == "application/json"


# -- begin ----------------------------------------------------------------------------------


def test_begin_stores_a_flow_bound_to_the_browser(world: World) -> None:
    started = world.provider.begin(authorize_request(), browser_binding="b" * 64)
    assert isinstance(started, PendingAuthorization)
    assert world.store.tables.flow_table == [started]
    assert started.browser_binding == "b" * 64
    assert (started.created_at, started.expires_at) == (START, START + TOKENS.flow_ttl)
    assert started.request.client_id == "rp"
    assert started.request.nonce == "n-1"
    assert len(started.id) >= 43  # 256 bits, URL-safe


def test_each_flow_gets_its_own_id(world: World) -> None:
    first = world.provider.begin(authorize_request())
    second = world.provider.begin(authorize_request())
    assert isinstance(first, PendingAuthorization)
    assert isinstance(second, PendingAuthorization)
    assert first.id != second.id


def test_begin_reads_a_post_form(world: World) -> None:
    get = authorize_request()
    post = HttpRequest(method="POST", url=get.url, form=get.query)
    assert isinstance(world.provider.begin(post), PendingAuthorization)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "get"])
def test_begin_refuses_other_methods_before_any_transaction(world: World, method: str) -> None:
    request = replace(authorize_request(), method=method)
    with pytest.raises(UserFacingError) as caught:
        world.provider.begin(request)
    assert caught.value.title == "Unsupported request"
    assert world.store.transactions == 0


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"client_id": "nobody"}, "the client_id is not registered with Gatehouse"),
        ({"redirect_uri": "https://evil.test/cb"}, "not registered for this client"),
    ],
)
def test_an_untrusted_redirect_is_a_page_not_a_redirect(
    world: World, overrides: dict[str, str], detail: str
) -> None:
    with pytest.raises(UserFacingError) as caught:
        world.provider.begin(authorize_request(**overrides))
    assert caught.value.title == "This sign-in request is not valid"
    assert detail in caught.value.detail
    assert caught.value.status == 400
    assert world.store.tables.flow_table == []


def test_a_refused_request_is_redirected_with_state_and_iss_and_stores_no_flow(
    world: World,
) -> None:
    refused = world.provider.begin(authorize_request(prompt="none"))
    assert isinstance(refused, Redirect)
    assert refused.location.startswith(CALLBACK + "?")
    assert query_of(refused) == {
        "error": "login_required",
        "error_description": "the user must log in at their identity provider",
        "state": "st-1",
        "iss": ISSUER,
    }
    assert world.store.tables.flow_table == []


def test_a_refusal_without_a_state_sends_none(world: World) -> None:
    refused = world.provider.begin(authorize_request(state=None, scope="email"))
    assert isinstance(refused, Redirect)
    assert "state" not in query_of(refused)
    assert query_of(refused)["iss"] == ISSUER


# -- finish and deny ------------------------------------------------------------------------


def test_finish_stores_the_code_hashed_and_bound_to_the_request(world: World) -> None:
    with world.store.unit_of_work() as uow:
        redirect = world.provider.finish(uow, flow(), IDENTITY, auth_time=START)
    params = query_of(redirect)
    assert params.keys() == {"code", "state", "iss"}
    assert (params["state"], params["iss"]) == ("st-1", ISSUER)
    assert redirect.location.startswith(CALLBACK + "?")
    [(stored_hash, stored)] = world.store.tables.code_table.items()
    assert stored_hash == hash_secret(params["code"]) != params["code"]
    assert stored == AuthorizationCode(
        code_hash=hash_secret(params["code"]), client_id="rp", redirect_uri=CALLBACK,
        scope=("openid", "email"), nonce="n-1", code_challenge=CHALLENGE,
        code_challenge_method="S256", claims=IDENTITY, auth_time=START, issued_at=START,
        expires_at=START + TOKENS.code_ttl,
    )  # fmt: skip


def test_finish_keeps_the_registered_query_and_leaves_out_an_absent_state(world: World) -> None:
    pending = flow(redirect_uri="https://rp.test/cb?tenant=a", state=None)
    with world.store.unit_of_work() as uow:
        redirect = world.provider.finish(uow, pending, IDENTITY, auth_time=START)
    assert redirect.location.startswith("https://rp.test/cb?tenant=a&code=")
    assert "state" not in query_of(redirect)


def test_deny_sends_the_error_back_to_the_flows_client(world: World) -> None:
    redirect = world.provider.deny(flow(), "access_denied", "the person cancelled")
    assert redirect.location.startswith(CALLBACK + "?")
    assert query_of(redirect) == {
        "error": "access_denied", "error_description": "the person cancelled",
        "state": "st-1", "iss": ISSUER,
    }  # fmt: skip
    assert world.store.transactions == 0


# -- token ----------------------------------------------------------------------------------


def test_a_code_redeems_once_for_a_verifiable_id_token(world: World) -> None:
    code = finish(world)
    world.clock.advance(timedelta(seconds=2))
    response = world.provider.token(token_request(code))
    assert response.status == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    body = body_of(response)
    assert body.keys() == {"access_token", "token_type", "expires_in", "scope", "id_token"}
    assert body["token_type"] == "Bearer"
    assert (body["expires_in"], body["scope"]) == (600, "openid email")
    keys = KeySet.import_key_set(json.loads(world.provider.jwks().body))
    decoded = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    now = int(world.clock.now().timestamp())
    assert decoded.header["kid"] == "k1"
    assert decoded.claims == {
        **IDENTITY, "iss": ISSUER, "aud": "rp", "iat": now, "exp": now + 600,
        "auth_time": int(START.timestamp()) - 5, "nonce": "n-1",
        "at_hash": base64.urlsafe_b64encode(
            hashlib.sha256(body["access_token"].encode()).digest()[:16]
        ).rstrip(b"=").decode(),
    }  # fmt: skip
    [stored] = world.store.tables.token_table.values()
    assert stored.token_hash == hash_secret(body["access_token"])
    assert stored.claims == IDENTITY
    assert stored.expires_at == world.clock.now() + TOKENS.access_token_ttl
    # Redeemed: a second redemption is refused, and revokes the first one's token.
    again = world.provider.token(token_request(code))
    assert (again.status, body_of(again)["error"]) == (400, "invalid_grant")
    assert world.store.tables.revoked == {hash_secret(code)}


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
        ({"redirect_uri": "https://rp.test/other"}, 400, "invalid_grant"),
        ({"client_secret": "wrong-" + SECRET}, 401, "invalid_client"),
        ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
    ],
)
def test_a_redemption_that_does_not_match_is_refused(
    world: World, form: dict[str, str], status: int, error: str
) -> None:
    response = world.provider.token(token_request(finish(world), **form))
    assert (response.status, body_of(response)["error"]) == (status, error)
    assert world.store.tables.token_table == {}


def test_an_unknown_code_is_invalid_grant(world: World) -> None:
    response = world.provider.token(token_request("no-such-code"))
    assert (response.status, body_of(response)["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("request_", "status", "description"),
    [
        pytest.param(HttpRequest(method="GET", url=f"{ISSUER}/token"), 405, "use POST", id="GET"),
        pytest.param(
            HttpRequest(method="POST", url=f"{ISSUER}/token", form={"code": ["c"]},
                        headers={"content-type": "application/json"}),
            400, "the body must be form-encoded", id="json",
        ),
        pytest.param(
            HttpRequest(method="POST", url=f"{ISSUER}/token", form={"code": ["c"]}),
            400, "the body must be form-encoded", id="no-content-type",
        ),
        pytest.param(
            HttpRequest.post(f"{ISSUER}/token", {"code": ["a", "b"], "scope": ["x", "y"]}),
            400, "repeated parameter: code", id="repeated",
        ),
    ],
)  # fmt: skip
def test_a_malformed_token_request_is_refused_before_any_transaction(
    world: World, request_: HttpRequest, status: int, description: str
) -> None:
    response = world.provider.token(request_)
    assert response.status == status
    assert body_of(response) == {"error": "invalid_request", "error_description": description}
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert world.store.transactions == 0
    assert world.signer.used == 0


def test_get_on_token_says_which_method_is_allowed(world: World) -> None:
    response = world.provider.token(HttpRequest(method="GET", url=f"{ISSUER}/token"))
    assert response.headers["Allow"] == "POST"


def test_a_form_content_type_with_parameters_is_form_encoded(world: World) -> None:
    request = token_request(finish(world))
    request = replace(
        request, headers={"content-type": "Application/X-WWW-Form-URLEncoded; charset=UTF-8"}
    )
    assert world.provider.token(request).status == 200


# -- userinfo -------------------------------------------------------------------------------


def redeemed_access_token(world: World) -> str:
    body = body_of(world.provider.token(token_request(finish(world))))
    token: str = body["access_token"]
    return token


@pytest.mark.parametrize(
    "request_for",
    [
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo",
                                               headers={"authorization": f"Bearer {t}"}),
                     id="header"),
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo",
                                               headers={"authorization": f"bEaReR   {t}  "}),
                     id="scheme-any-case-padded"),
        pytest.param(lambda t: HttpRequest.post(f"{ISSUER}/userinfo", {"access_token": t}),
                     id="post-body"),
    ],
)  # fmt: skip
def test_userinfo_answers_the_identity_claims(world: World, request_for: Any) -> None:
    response = world.provider.userinfo(request_for(redeemed_access_token(world)))
    assert response.status == 200
    assert body_of(response) == IDENTITY
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "request_for",
    [
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo"), id="nothing"),
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo?access_token={t}"),
                     id="query-string"),
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo",
                                               headers={"authorization": f"Basic {t}"}),
                     id="basic-scheme"),
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo",
                                               headers={"authorization": "Bearer "}),
                     id="empty-bearer"),
        pytest.param(lambda t: HttpRequest.get(f"{ISSUER}/userinfo",
                                               headers={"authorization": "Bearer"}),
                     id="scheme-alone"),
        pytest.param(lambda t: HttpRequest.post(f"{ISSUER}/userinfo", {"access_token": [t, t]}),
                     id="post-twice"),
        pytest.param(lambda t: HttpRequest.post(f"{ISSUER}/userinfo", {"access_token": ""}),
                     id="post-empty"),
        # The header wins over the body: a bad header is not rescued by a good body.
        pytest.param(lambda t: HttpRequest.post(f"{ISSUER}/userinfo", {"access_token": t},
                                                headers={"authorization": f"Token {t}"}),
                     id="bad-header-good-body"),
    ],
)  # fmt: skip
def test_userinfo_without_a_usable_bearer_token_is_a_bare_challenge(
    world: World, request_for: Any
) -> None:
    token = redeemed_access_token(world)
    transactions = world.store.transactions
    response = world.provider.userinfo(request_for(token))
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gatehouse"'
    assert response.headers["Cache-Control"] == "no-store"
    assert body_of(response) == {}
    assert world.store.transactions == transactions  # no lookup


@pytest.mark.parametrize("change", ["unknown", "expired", "revoked"])
def test_userinfo_with_a_dead_token_is_invalid_token(world: World, change: str) -> None:
    token = redeemed_access_token(world)
    if change == "unknown":
        token = "not-" + token
    elif change == "expired":
        world.clock.advance(TOKENS.access_token_ttl)
    else:
        world.store.tables.revoked.update(world.store.tables.code_table)
    response = world.provider.userinfo(
        HttpRequest.get(f"{ISSUER}/userinfo", headers={"authorization": f"Bearer {token}"})
    )
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="gatehouse", error="invalid_token"'
    assert body_of(response) == {"error": "invalid_token"}
