"""Gatehouse as the relying party of an OpenID Provider we did not write: authlib's
`AuthorizationServer` (tests/support/authlib_op.py), every party a real server on loopback.

The connector and the simulator's OP were written from the same reading of the specs; this
OP is another implementation's. Gatehouse is configured through the management use case
`Connections.create_oidc` (which fetches and checks the OP's discovery document for real),
redeems codes with each client authentication method, and a relying party (authlib's OAuth
2.0 client, as Auth0 would be) verifies the ID token Gatehouse then issues. Refusals must end
on Gatehouse's error page, with the audit event an operator would look for.
"""

from __future__ import annotations

import ast
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeyParameters, KeySet, RSAKey

from broker.app import Broker, create_app
from broker.model.opaque import new_id
from broker.model.records import Domain, Organization
from broker.oidc.clients import register_client
from broker.store import Store
from broker.upstream.urls import ConnectionEndpoints, endpoints_for
from tests.support import authlib_op
from tests.support.authlib_op import PERSON, AuthlibOp, RegisteredClient, new_signing_key
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve
from tests.support.loopback_world import audit_for
from tests.support.oidc_http import OidcBrowser, redirect_target
from tests.support.saml_http import query_params, reference_on_page

pytestmark = pytest.mark.e2e

ORG_NAME = "Interop Labs"
RP_CALLBACK = "https://rp.test/callback"
CLIENT_ID = "gatehouse-interop"
# RFC 6749 §2.3.1: Basic credentials are form-encoded first; characters that need it prove
# both sides agree on how.
CLIENT_SECRET = "s3cret with spaces:colons+plus/slash%percent"
METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass
class LiveGatehouse:
    issuer: str
    broker: Broker
    store: Store
    organization_id: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def stray_key() -> RSAKey:
    return new_signing_key()


@pytest.fixture
def op() -> Iterator[AuthlibOp]:
    port = free_port()
    authlib_op = AuthlibOp(base_url=f"http://127.0.0.1:{port}", signing_key=new_signing_key())
    with serve(authlib_op.app, port):
        yield authlib_op


@pytest.fixture
def gatehouse(store: Store, tmp_path: Path) -> Iterator[LiveGatehouse]:
    """Gatehouse with its real outbound client (development policy: loopback http allowed),
    an organization owning the verified domain of the OP's person, and a registered RP."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(tmp_path, issuer=issuer), store=store)
    broker: Broker = app.state.broker
    now = broker.clock.now()
    organization = Organization(id=new_id("org"), name=ORG_NAME, created_at=now)
    with store.unit_of_work() as uow:
        uow.organizations.add(organization)
        domain = str(PERSON["email"]).split("@")[1]
        uow.domains.add(Domain(organization_id=organization.id, name=domain, verified_at=now))
        registered = register_client(uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now)
    assert registered.client_secret is not None
    try:
        with serve(app, port):
            yield LiveGatehouse(
                issuer=issuer,
                broker=broker,
                store=store,
                organization_id=organization.id,
                client_id=registered.client.client_id,
                client_secret=registered.client_secret,
            )
    finally:
        broker.close()


@pytest.fixture
def browser() -> Iterator[OidcBrowser]:
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        yield OidcBrowser(http)


def connect(
    gatehouse: LiveGatehouse, op: AuthlibOp, method: str, **options: object
) -> ConnectionEndpoints:
    """An IT admin's steps: create the connection from the OP's issuer, then register
    Gatehouse at the OP (its redirect URI; for private_key_jwt its published JWKS)."""
    pkjwt = method == "private_key_jwt"
    created = gatehouse.broker.management.connections.create_oidc(
        "test",
        gatehouse.organization_id,
        {"issuer": op.issuer, "client_id": CLIENT_ID, "token_endpoint_auth_method": method,
         **options},
        client_secret=None if pkjwt else CLIENT_SECRET,
        name="authlib OP",
    )  # fmt: skip
    assert created.warnings == ()  # the OP lists the method, PKCE S256 and RS256
    endpoints = endpoints_for(gatehouse.issuer, created.connection.id, created.connection.kind)
    jwks = None
    if pkjwt:
        jwks = httpx.get(endpoints.metadata_url, timeout=10).json()
        assert [set(key) & {"d", "p", "q", "dp", "dq", "qi"} for key in jwks["keys"]] == [set()]
    op.register(
        RegisteredClient(
            client_id=CLIENT_ID,
            redirect_uri=endpoints.callback_url,
            auth_method=method,
            secret=None if pkjwt else CLIENT_SECRET,
            jwks=jwks,
        )
    )
    return endpoints


class AuthlibRelyingParty:
    """Auth0's part, played by authlib's OAuth 2.0 client and its `CodeIDToken` rules."""

    def __init__(self, gatehouse: LiveGatehouse) -> None:
        # Imported here: authlib's notice about httpx at import would escape pytest's warning
        # filters during collection.
        from authlib.integrations.httpx_client import OAuth2Client

        self.metadata = httpx.get(
            f"{gatehouse.issuer}/.well-known/openid-configuration", timeout=10
        ).json()
        self.client = OAuth2Client(
            client_id=gatehouse.client_id,
            client_secret=gatehouse.client_secret,
            scope="openid profile email",
            redirect_uri=RP_CALLBACK,
            code_challenge_method="S256",
        )
        self.verifier, self.nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        self.state = ""

    def authorization_url(self, login_hint: str) -> str:
        url, self.state = self.client.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            login_hint=login_hint,
        )
        return str(url)

    def finish(self, callback: str) -> dict[str, Any]:
        """Redeem the code Gatehouse sent; the ID token's claims once authlib validated them."""
        token = self.client.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=callback,
            state=self.state,
            code_verifier=self.verifier,
        )
        self.client.close()
        keys = KeySet.import_key_set(httpx.get(self.metadata["jwks_uri"], timeout=10).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={"iss": {"values": [self.metadata["issuer"]]}},
            params={"nonce": self.nonce, "client_id": self.client.client_id,
                    "access_token": token["access_token"]},
        )  # fmt: skip
        claims.validate()  # iss, aud, exp, iat, nonce, at_hash
        return dict(claims)


def log_in(
    browser: OidcBrowser, rp: AuthlibRelyingParty, op: AuthlibOp, endpoints: ConnectionEndpoints
) -> httpx.Response:
    """RP → Gatehouse → the OP (which answers at once) → Gatehouse's redirect URI; returns
    Gatehouse's answer there."""
    to_op = browser.http.get(rp.authorization_url(str(PERSON["email"])))
    at_op = browser.hop(to_op, f"{op.issuer}/authorize?")
    answer = redirect_target(at_op, f"{endpoints.callback_url}?")
    assert query_params(answer)["iss"] == op.issuer  # authlib's RFC 9207 extension
    return browser.http.get(answer)


def assert_refused(gatehouse: LiveGatehouse, back: httpx.Response, reason: str) -> None:
    assert "location" not in back.headers  # nothing goes on to the RP
    assert "Traceback" not in back.text
    [event] = audit_for(gatehouse.store, gatehouse.organization_id, reference_on_page(back))
    assert (event.kind, event.reason) == ("login.failed", reason)


def test_the_op_shares_no_code_with_gatehouse() -> None:
    """import-linter covers only the product packages; this OP is independent only if it
    imports none of them (nor test helpers that do)."""
    tree = ast.parse(Path(str(authlib_op.__file__)).read_text())
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    ours = {"broker", "idp_simulator", "admin_portal", "demo_rp", "tests"}
    assert {m for m in modules if m.split(".")[0] in ours} == set()


@pytest.mark.parametrize("method", METHODS)
def test_alice_logs_in_with_each_client_authentication_method(
    gatehouse: LiveGatehouse, op: AuthlibOp, browser: OidcBrowser, method: str
) -> None:
    endpoints = connect(gatehouse, op, method)
    rp = AuthlibRelyingParty(gatehouse)
    back = log_in(browser, rp, op, endpoints)
    claims = rp.finish(redirect_target(back, f"{RP_CALLBACK}?"))
    assert op.client_auth_methods == [method]  # as authlib's server authenticated us
    assert claims["email"] == PERSON["email"]
    assert claims["email_verified"] is True
    assert claims["given_name"] == "Alice"
    assert claims["organization_id"] == gatehouse.organization_id
    assert claims["organization_name"] == ORG_NAME
    assert claims["connection_id"] == endpoints.connection_id
    assert claims["idp_type"] == "oidc"
    assert claims["raw_attributes"]["sub"] == PERSON["sub"]
    [event] = audit_for(gatehouse.store, gatehouse.organization_id, back.headers["x-request-id"])
    assert (event.kind, event.detail["user_id"]) == ("login.succeeded", claims["sub"])


def test_userinfo_is_read_from_the_op_when_the_connection_asks(
    gatehouse: LiveGatehouse, op: AuthlibOp, browser: OidcBrowser
) -> None:
    """Userinfo is authlib's answer to Gatehouse's bearer token; its `sub` must match the
    ID token's (R-14), which it does for an honest OP."""
    endpoints = connect(gatehouse, op, "client_secret_post", always_fetch_userinfo=True)
    rp = AuthlibRelyingParty(gatehouse)
    back = log_in(browser, rp, op, endpoints)
    claims = rp.finish(redirect_target(back, f"{RP_CALLBACK}?"))
    assert op.userinfo_requests == 1
    assert (claims["email"], claims["idp_type"]) == (PERSON["email"], "oidc")


@pytest.mark.parametrize(
    ("kid", "reason"), [("its own", "unknown_key"), ("the published one", "signature_invalid")]
)
def test_an_id_token_signed_with_a_key_not_in_the_jwks_is_refused(
    gatehouse: LiveGatehouse,
    op: AuthlibOp,
    browser: OidcBrowser,
    stray_key: RSAKey,
    kid: str,
    reason: str,
) -> None:
    endpoints = connect(gatehouse, op, "client_secret_basic")
    if kid == "its own":
        op.id_token_key = stray_key
    else:
        same_kid: KeyParameters = {"kid": str(op.signing_key.kid)}
        op.id_token_key = RSAKey.import_key(stray_key.as_dict(private=True), same_kid)
    back = log_in(browser, AuthlibRelyingParty(gatehouse), op, endpoints)
    assert op.client_auth_methods == ["client_secret_basic"]  # the code was redeemed
    assert back.status_code == 400, back.text
    assert "We could not verify your sign-in" in back.text
    assert_refused(gatehouse, back, reason)


def test_the_person_declining_at_the_op_is_refused_with_its_reason(
    gatehouse: LiveGatehouse, op: AuthlibOp, browser: OidcBrowser
) -> None:
    endpoints = connect(gatehouse, op, "client_secret_basic")
    op.approve = False
    back = log_in(browser, AuthlibRelyingParty(gatehouse), op, endpoints)
    assert op.client_auth_methods == []  # no code to redeem
    assert back.status_code == 403, back.text
    assert "did not sign you in" in back.text
    assert_refused(gatehouse, back, "idp_refused:access_denied")
