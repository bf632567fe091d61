"""Driving the simulator's OpenID Provider the way a relying party and a browser do.

`OidcFlow` (the `oidc` fixture) holds a TestClient (redirects not followed: the tests read
them), the clock the app was given (movable, for expiry) and the config; its steps are the
protocol's: authorize → login form → callback → token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from lxml import html
from starlette.testclient import TestClient

from idp_simulator.config import SimulatorConfig

ISSUER = "http://127.0.0.1:7000/oidc"
CLIENT_ID = "gatehouse"
CLIENT_SECRET = "s3cret/with+odd=chars"
REDIRECT_URI = "http://localhost:8000/callback/conn-1"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), computed here independently of the simulator."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def query(url: str) -> dict[str, str]:
    """A callback URL's query, each parameter once (the tests expect no repeats)."""
    values = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in values.values()), values
    return {name: v[0] for name, v in values.items()}


def form_fields(page: str) -> dict[str, str]:
    (form,) = html.fromstring(page).forms
    return {name: value or "" for name, value in form.fields.items()}


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWT without checking anything: for the tokens a
    verifier would (rightly) refuse."""
    header, payload, _ = token.split(".")
    return json.loads(_b64url(header)), json.loads(_b64url(payload))


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class MovableClock:
    """The app's clock: `start` until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class OidcFlow:
    client: TestClient
    clock: MovableClock
    config: SimulatorConfig
    verifier: str = ""
    challenge: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()
        self.params = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid email profile",
            "state": "st-123",
            "nonce": "n-456",
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }

    def authorize(self, **changes: str | None) -> httpx.Response:
        """GET /oidc/authorize with the good parameters, some changed (None: left out)."""
        params = {**self.params, **changes}
        sent = {name: value for name, value in params.items() if value is not None}
        response: httpx.Response = self.client.get("/oidc/authorize", params=sent)
        return response

    def pending(self, **changes: str | None) -> str:
        response = self.authorize(**changes)
        assert response.status_code == 200, response.text
        return form_fields(response.text)["pending"]

    def login(self, pending: str, **fields: str) -> httpx.Response:
        form = {
            "pending": pending,
            "email": "alice@example.com",
            "given_name": "Alice",
            "family_name": "Example",
            "groups": "engineering,admins",
            "attributes": "",
            "scenario": "",
            **fields,
        }
        response: httpx.Response = self.client.post("/oidc/login", data=form)
        return response

    def callback(self, **fields: str) -> dict[str, str]:
        """Authorize and log in; the callback's query parameters."""
        response = self.login(self.pending(), **fields)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        return query(location)

    def code(self, **fields: str) -> str:
        return self.callback(**fields)["code"]

    def token(
        self, code: str | None, /, *, basic: bool = True, **changes: str | None
    ) -> httpx.Response:
        """POST /oidc/token for `code` (None: left out), authenticated as the client by Basic
        or in the form; `changes` replace or (None) remove form fields."""
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": self.verifier,
        }
        if not basic:
            form.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        form.update(changes)
        data = {name: value for name, value in form.items() if value is not None}
        headers = {"Authorization": basic_header(CLIENT_ID, CLIENT_SECRET)} if basic else {}
        response: httpx.Response = self.client.post("/oidc/token", data=data, headers=headers)
        return response

    def tokens(self, **fields: str) -> dict[str, Any]:
        response = self.token(self.code(**fields))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def key_set(self) -> KeySet:
        return KeySet.import_key_set(self.client.get("/oidc/jwks.json").json())

    def verified_claims(self, id_token: str) -> dict[str, Any]:
        """Signature checked against the published JWKS, RS256 only; claims returned."""
        claims: dict[str, Any] = jwt.decode(id_token, self.key_set(), algorithms=["RS256"]).claims
        return claims


def basic_header(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: each part form-urlencoded, then `id:secret` in base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
