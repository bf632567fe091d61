"""Over real HTTP on loopback, on SQLite (the database dimension is proven in process):

- a whole login with authlib's own OAuth 2.0 client and its `CodeIDToken` validation (an
  implementation we did not write) as the relying party, as Auth0 would be;
- the refusal channel no IdP answer reaches: an error redirect to the RP's redirect URI,
  checked by the demo app's strict RP (`demo_rp.oidc_client`, written from the specs).

The demo RP's whole logins over real HTTP, through both real connectors, are in
test_saml_real_http.py and test_oidc_real_http.py.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

from broker.app import create_app
from broker.oidc.clients import register_client
from broker.store.sql import SqlStore
from demo_rp.errors import AuthorizationError
from demo_rp.oidc_client import RelyingParty
from tests.support.config import make_settings
from tests.support.databases import Database
from tests.support.factories import add_organization
from tests.support.fake_connector import FakeConnectorConfig, idp_answer, return_path
from tests.support.live_server import free_port, serve

pytestmark = pytest.mark.e2e

RP_CALLBACK = "https://rp.test/callback"


@dataclass
class LiveGatehouse:
    issuer: str
    client_id: str
    client_secret: str
    http: httpx.Client

    def play_idp(self, authorize_url: str, **identity: str) -> dict[str, str]:
        """Follow /authorize to the (pretend) IdP, answer as it, return the RP callback."""
        at_idp = self.http.get(authorize_url)
        assert at_idp.status_code == 302, at_idp.text
        answer = idp_answer(at_idp.headers["location"], **identity)
        back = self.http.get(self.issuer + return_path(at_idp.headers["location"], answer))
        assert back.status_code == 302, back.text
        location = back.headers["location"]
        assert location.startswith(RP_CALLBACK)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def live(sqlite_database: Database, tmp_path: Path) -> Iterator[LiveGatehouse]:
    store = SqlStore(sqlite_database.engine)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, issuer=issuer)
    with store.unit_of_work() as uow:
        now = datetime.now(UTC)
        add_organization(
            uow, org_id="org_acme", name="Acme Corp", domain="acme.test", now=now,
            connection_id="con_acme",
        )  # fmt: skip
        registered = register_client(uow, name="Auth0", redirect_uris=[RP_CALLBACK], now=now)
    assert registered.client_secret is not None
    app = create_app(settings, store=store, connector_types={"test": FakeConnectorConfig})
    with serve(app, port), httpx.Client(timeout=10) as http:
        yield LiveGatehouse(
            issuer=issuer,
            client_id=registered.client.client_id,
            client_secret=registered.client_secret,
            http=http,
        )


def test_authlib_client_logs_in_over_http(live: LiveGatehouse) -> None:
    # Imported here: at module import authlib's deprecation notice about httpx would escape
    # pytest's warning filters (collection happens before they apply).
    from authlib.integrations.httpx_client import OAuth2Client

    metadata = live.http.get(f"{live.issuer}/.well-known/openid-configuration").json()
    client = OAuth2Client(
        client_id=live.client_id,
        client_secret=live.client_secret,
        scope="openid profile email",
        redirect_uri=RP_CALLBACK,
        token_endpoint_auth_method="client_secret_post",
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"],
        code_verifier=verifier,
        nonce=nonce,
        login_hint="ann@acme.test",
    )
    callback = live.play_idp(url, sub="idp-ann", email="ann@acme.test")
    assert callback["state"] == state
    assert callback["iss"] == metadata["issuer"]  # RFC 9207, checked as a client must
    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=f"{RP_CALLBACK}?{urlencode(callback)}",
        code_verifier=verifier,
    )
    keys = KeySet.import_key_set(live.http.get(metadata["jwks_uri"]).json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"values": [metadata["issuer"]]}},
        params={"nonce": nonce, "client_id": live.client_id, "access_token": token["access_token"]},
    )
    claims.validate()  # iss, aud, exp, iat, nonce, at_hash: authlib's own rules
    userinfo = client.get(metadata["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"]
    client.close()


def test_a_request_refused_before_any_login_goes_back_to_the_rp_as_an_oauth_error(
    live: LiveGatehouse,
) -> None:
    """prompt=none cannot be served (Gatehouse keeps no session: every login needs the
    person), so the error goes to the RP's redirect URI with its state and iss (RFC 6749
    4.1.2.1, RFC 9207), which the RP checks before it believes the error. A refused IdP answer
    never takes this channel: it ends on Gatehouse's own page (the scenario tables)."""
    rp = RelyingParty(
        issuer=live.issuer,
        client_id=live.client_id,
        client_secret=live.client_secret,
        redirect_uri=RP_CALLBACK,
        http=live.http,
    )
    url, saved = rp.start_login(login_hint="ann@acme.test", extra={"prompt": "none"})
    back = live.http.get(url)
    assert back.status_code == 302, back.text
    location = back.headers["location"]
    assert location.startswith(f"{RP_CALLBACK}?"), location
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert "code" not in params
    assert (params["error"], params["state"], params["iss"]) == (
        "login_required",
        saved.state,
        live.issuer,
    )
    with pytest.raises(AuthorizationError) as refused:
        rp.finish_login(params, saved)
    assert refused.value.error == "login_required"
