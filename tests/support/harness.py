"""An in-process Gatehouse with one organization, one test connection and two clients,
plus the moves a relying party and an IdP make against it."""

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

from broker.app import DEFAULT_CONNECTOR_TYPES, create_app
from broker.clock import FixedClock
from broker.model.records import Connection, Organization
from broker.oidc.clients import register_client
from broker.settings import Settings
from broker.store import Store
from tests.support.config import ISSUER, PUBLIC_CALLBACK, RP_CALLBACK, make_settings
from tests.support.factories import add_organization
from tests.support.fake_connector import FakeConnectorConfig, idp_answer, return_path


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


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
class Harness:
    store: Store
    clock: FixedClock
    settings: Settings
    client: TestClient
    client_id: str
    client_secret: str
    public_client_id: str
    organization: Organization
    connection: Connection
    other_client_id: str = ""
    other_client_secret: str = ""

    # -- the relying party's moves --------------------------------------------------

    def new_login(self, *, pkce: bool = True, **overrides: str | None) -> Login:
        verifier, challenge = pkce_pair()
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": RP_CALLBACK,
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "login_hint": "ann@acme.test",
        }
        if pkce:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        params |= overrides
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


def build_harness(
    store: Store, tmp_path: Any, *, http: httpx.Client | None = None, **settings_overrides: Any
) -> Harness:
    """`http` is the broker's outbound client (the in-process world routes it to the
    simulator); `settings_overrides` are `Settings` fields (tiny rate limits, say)."""
    clock = FixedClock()
    settings = make_settings(tmp_path, **settings_overrides)
    now = clock.now()
    with store.unit_of_work() as uow:
        organization, connection = add_organization(
            uow, org_id="org_acme", name="Acme Corp", domain="acme.test", now=now,
            connection_id="con_acme",
        )  # fmt: skip
        confidential = register_client(
            uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now, client_id="auth0-tenant"
        )
        other = register_client(uow, name="Other", redirect_uris=[RP_CALLBACK], now=now)
        public = register_client(
            uow, name="Native", redirect_uris=[PUBLIC_CALLBACK], now=now, public=True
        )
    app = create_app(
        settings,
        store=store,
        http=http,
        clock=clock,
        connector_types={**DEFAULT_CONNECTOR_TYPES, "test": FakeConnectorConfig},
    )
    assert confidential.client_secret
    assert other.client_secret
    return Harness(
        store=store,
        clock=clock,
        settings=settings,
        client=TestClient(app, base_url=ISSUER, raise_server_exceptions=False),
        client_id=confidential.client.client_id,
        client_secret=confidential.client_secret,
        public_client_id=public.client.client_id,
        organization=organization,
        connection=connection,
        other_client_id=other.client.client_id,
        other_client_secret=other.client_secret,
    )
