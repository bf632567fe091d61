"""The default world: a Gatehouse (tests/support/gatehouse.py) with its default tenant, Acme
Corp (acme.test) logging in through the fake connector, and three relying parties; plus the
moves a relying party and the fake IdP make against it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from broker.clock import FixedClock
from broker.model.records import Connection, Organization
from broker.oidc.clients import register_client
from broker.store import Store
from tests.support.config import PUBLIC_CALLBACK, RP_CALLBACK
from tests.support.factories import add_organization
from tests.support.fake_connector import idp_answer, return_path
from tests.support.gatehouse import Gatehouse, build_gatehouse

#: The default relying parties' client ids (the other one's is generated).
CLIENT_ID = "auth0-tenant"
PUBLIC_CLIENT_ID = "native-app"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorization_request(
    *, client_id: str, state: str, nonce: str, challenge: str | None
) -> dict[str, str]:
    """A relying party's /authorize parameters: the code flow, OpenID scopes, and PKCE
    (S256) when there is a `challenge`."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": RP_CALLBACK,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return params


@dataclass
class Login:
    """One authorization request as the RP made it."""

    params: dict[str, str]
    verifier: str | None

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    @property
    def nonce(self) -> str | None:
        return self.params.get("nonce")


@dataclass
class RelyingParties:
    """The default relying parties: Auth0 (confidential, the one logins use), another
    confidential client, and a native app (public, loopback redirect URI)."""

    client_id: str
    client_secret: str
    public_client_id: str
    other_client_id: str
    other_client_secret: str


def register_relying_parties(store: Store, clock: FixedClock) -> RelyingParties:
    now = clock.now()
    with store.unit_of_work() as uow:
        auth0 = register_client(
            uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now, client_id=CLIENT_ID
        )
        other = register_client(uow, name="Other", redirect_uris=[RP_CALLBACK], now=now)
        public = register_client(
            uow, name="Native", redirect_uris=[PUBLIC_CALLBACK], now=now,
            client_id=PUBLIC_CLIENT_ID, public=True,
        )  # fmt: skip
    assert auth0.client_secret
    assert other.client_secret
    return RelyingParties(
        client_id=auth0.client.client_id,
        client_secret=auth0.client_secret,
        public_client_id=public.client.client_id,
        other_client_id=other.client.client_id,
        other_client_secret=other.client_secret,
    )


@dataclass
class Harness(Gatehouse, RelyingParties):
    #: The relying party's browser (its user agent, really: one cookie jar).
    client: TestClient
    #: The default tenant, Acme Corp, and its connection.
    acme: Organization
    connection: Connection

    # -- the relying party's moves --------------------------------------------------

    def new_login(self, *, pkce: bool = True, **overrides: str | None) -> Login:
        verifier, challenge = pkce_pair()
        params: dict[str, str | None] = {
            **authorization_request(
                client_id=self.client_id,
                state=secrets.token_urlsafe(12),
                nonce=secrets.token_urlsafe(12),
                challenge=challenge if pkce else None,
            ),
            "login_hint": "ann@acme.test",
            **overrides,
        }
        clean = {k: v for k, v in params.items() if v is not None}
        return Login(params=clean, verifier=verifier if pkce else None)

    def authorize(self, login: Login) -> httpx.Response:
        response: httpx.Response = self.client.get(
            "/authorize?" + urlencode(login.params), follow_redirects=False
        )
        return response

    def redeem(
        self,
        code: str,
        *,
        verifier: str | None,
        client_id: str | None = None,
        client_secret: str | None = None,
        auth: str = "post",
        redirect_uri: str = RP_CALLBACK,
        **extra: str,
    ) -> httpx.Response:
        cid = client_id or self.client_id
        secret = client_secret if client_secret is not None else self.client_secret
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        headers = {}
        if auth == "post":
            form |= {"client_id": cid, "client_secret": secret}
        elif auth == "basic":
            headers["Authorization"] = (
                "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()
            )
        elif auth == "none":
            form["client_id"] = cid
        form |= extra
        response: httpx.Response = self.client.post("/token", data=form, headers=headers)
        return response

    # -- the IdP's moves ------------------------------------------------------------

    def idp_returns(self, idp_redirect: httpx.Response, **identity: str) -> httpx.Response:
        location = idp_redirect.headers["location"]
        assert location.startswith("https://idp.test/login?"), location
        answer = idp_answer(location, **identity)
        response: httpx.Response = self.client.get(
            return_path(location, answer), follow_redirects=False
        )
        return response

    def login_and_get_code(
        self, login: Login | None = None, /, **identity: str
    ) -> tuple[Login, str]:
        login = login or self.new_login()
        at_idp = self.authorize(login)
        identity = {"sub": "idp-ann", "email": "ann@acme.test", "name": "Ann Example"} | identity
        back = self.idp_returns(at_idp, **identity)
        assert back.status_code == 302, back.text
        params = callback_params(back)
        assert "code" in params, params
        return login, params["code"]

    # -- checks a strict RP makes ---------------------------------------------------

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.client.get("/jwks.json").json())

    def verify_id_token(self, token: str, *, keys: KeySet | None = None) -> dict[str, Any]:
        decoded = jwt.decode(token, keys or self.jwks(), algorithms=["RS256"])
        assert decoded.header["alg"] == "RS256"
        assert decoded.header["kid"]
        return dict(decoded.claims)


def callback_params(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    assert location.startswith((RP_CALLBACK, PUBLIC_CALLBACK)), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def build_harness(store: Store, tmp_path: Any, **gatehouse: Any) -> Harness:
    """`build_gatehouse` with the default tenant; `gatehouse` are its arguments (the
    outbound client, the clock, `Settings` fields such as tiny rate limits)."""
    built = build_gatehouse(store, tmp_path, **gatehouse)
    with store.unit_of_work() as uow:
        acme, connection = add_organization(
            uow, org_id="org_acme", name="Acme Corp", domain="acme.test",
            now=built.clock.now(), connection_id="con_acme",
        )  # fmt: skip
    parties = register_relying_parties(store, built.clock)
    return Harness(
        **vars(built), **vars(parties), client=built.browser(), acme=acme, connection=connection
    )
