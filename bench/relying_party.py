"""The relying party's side of a benchmarked login, the same whatever the upstream protocol.

A virtual user is a browser plus the relying party it logs in to: `/authorize` (PKCE S256,
state, nonce, login_hint) → Gatehouse's redirect to the IdP → the IdP leg (`IdpLeg`, one per
protocol, in `bench.idp_legs`) ending with Gatehouse's answer at its callback → the redirect
to the relying party with a code → `/token` (client_secret_post) → the ID token checked
(RS256 signature against the JWKS fetched once, iss, aud, nonce, email, exp, and that the
login went through the expected connection: idp_type, connection_id) → `/userinfo` with the
access token (its `sub` must be the ID token's), as relying parties such as Auth0 do. Each
virtual user has its own `httpx.Client`, so its own cookies, as separate browsers have.

`VirtualUser.steps()` is the same login as a generator that yields after each phase
(`PHASES`), so `bench.endpoints` can run many users in lockstep and read Gatehouse's CPU
between phases.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from bench.servers import Servers

HTTP_TIMEOUT = httpx.Timeout(60.0)
#: A login's phases in order. All but "idp" are one request to Gatehouse each: "idp" is the
#: browser at the IdP (the simulator), "idp_return" Gatehouse's SAML ACS or OIDC callback.
PHASES = ("authorize", "idp", "idp_return", "token", "userinfo")
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


class LoginError(RuntimeError):
    """A step of a login did not answer as a working broker (or simulator) must."""


@dataclass(frozen=True)
class IdpLeg:
    """What differs between protocols: who logs in, where Gatehouse must send the browser,
    and what the browser does there until Gatehouse's callback has answered."""

    #: The connection kind, which is also the ID token's `idp_type`.
    protocol: str
    #: The person (login_hint); their domain routes the login to the organization.
    email: str
    organization: str
    #: Where Gatehouse's `/authorize` must redirect to, relative to the simulator's URL.
    idp_entry: str
    #: (browser, servers, Gatehouse's redirect to the IdP) → the request the IdP sends the
    #: browser back to Gatehouse with (ACS POST or callback GET), built but not sent, so
    #: the IdP's share and Gatehouse's can be measured apart.
    log_in: Callable[[httpx.Client, Servers, str], httpx.Request]


class VirtualUser:
    """One browser and the relying party behind it: one cookie jar, many logins."""

    def __init__(self, servers: Servers, keys: KeySet, leg: IdpLeg) -> None:
        self._servers = servers
        self._keys = keys
        self._leg = leg
        verify = (
            ssl.create_default_context(cafile=str(servers.ca_file)) if servers.ca_file else True
        )
        self.http = httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False, verify=verify)
        #: The last request the IdP sent the browser back to Gatehouse with (its SAMLResponse
        #: is what `bench.floor` verifies).
        self.last_idp_return: httpx.Request | None = None
        self.claims: dict[str, Any] = {}

    def close(self) -> None:
        self.http.close()

    def login(self) -> dict[str, Any]:
        """One complete login; returns the verified ID token claims."""
        for _phase in self.steps():
            pass
        return self.claims

    def steps(self) -> Iterator[str]:
        """One complete login, yielding each phase's name (`PHASES`) once it is done; the
        verified ID token claims are then in `claims`."""
        s, leg = self._servers, self._leg
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        to_idp = self.http.get(
            f"{s.issuer}/authorize",
            params={
                "response_type": "code",
                "client_id": s.client_id,
                "redirect_uri": s.redirect_uri,
                "scope": "openid profile email",
                "state": state,
                "nonce": nonce,
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
                "login_hint": leg.email,
            },
        )
        location = redirect(to_idp, "authorize", f"{s.simulator_url}{leg.idp_entry}")
        yield "authorize"
        self.last_idp_return = leg.log_in(self.http, s, location)
        yield "idp"
        back = self.http.send(self.last_idp_return)
        yield "idp_return"
        callback = redirect(back, f"{leg.protocol} callback", f"{s.redirect_uri}?")
        params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        if params.get("state") != state or params.get("iss") != s.issuer or "code" not in params:
            raise LoginError(f"bad authorization response: {sorted(params)}")
        token = expect(
            self.http.post(
                f"{s.issuer}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": params["code"],
                    "redirect_uri": s.redirect_uri,
                    "code_verifier": verifier,
                    "client_id": s.client_id,
                    "client_secret": s.client_secret,
                },
            ),
            200,
            "token",
        ).json()
        yield "token"
        claims = self._verify(str(token["id_token"]), nonce)
        userinfo = expect(
            self.http.get(
                f"{s.issuer}/userinfo",
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ),
            200,
            "userinfo",
        ).json()
        if userinfo.get("sub") != claims.get("sub"):
            raise LoginError("userinfo: sub differs from the ID token's")
        self.claims = claims
        yield "userinfo"

    def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        decoded = jwt.decode(id_token, self._keys, algorithms=["RS256"])
        claims = dict(decoded.claims)
        s, leg = self._servers, self._leg
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = [
            name
            for name, ok in (
                ("iss", claims.get("iss") == s.issuer),
                ("aud", s.client_id in audiences),
                ("nonce", claims.get("nonce") == nonce),
                ("email", claims.get("email") == leg.email),
                ("exp", isinstance(claims.get("exp"), int) and claims["exp"] > time.time()),
                ("idp_type", claims.get("idp_type") == leg.protocol),
                ("connection_id", claims.get("connection_id") == s.connection_ids[leg.protocol]),
            )
            if not ok
        ]
        if problems:
            raise LoginError(f"ID token claims wrong: {problems}")
        return claims


def fetch_keys(servers: Servers) -> KeySet:
    """The JWKS, fetched once (the discovery document names it) and shared read-only."""
    with httpx.Client(timeout=HTTP_TIMEOUT) as http:  # Gatehouse itself is http here
        discovery = expect(
            http.get(f"{servers.issuer}/.well-known/openid-configuration"), 200, "discovery"
        ).json()
        if discovery.get("issuer") != servers.issuer:
            raise LoginError(f"discovery issuer {discovery.get('issuer')!r}")
        jwks = expect(http.get(str(discovery["jwks_uri"])), 200, "jwks").json()
    return KeySet.import_key_set(jwks)


# -- checks every step uses -------------------------------------------------------------


def expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise LoginError(f"{step}: HTTP {response.status_code}: {response.text[:300]}")
    return response


def redirect(response: httpx.Response, step: str, prefix: str) -> str:
    """The Location of a 302 that must start with `prefix`."""
    expect(response, 302, step)
    location = str(response.headers.get("location", ""))
    if not location.startswith(prefix):
        raise LoginError(f"{step}: redirect to {location[:120]!r}, expected {prefix!r}")
    return location


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML page, as the template wrote them (still escaped)."""
    return dict(_HIDDEN.findall(page))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
