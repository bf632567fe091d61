"""`python -m demo_rp`: run the demo relying party on 127.0.0.1 for `make run`.

Configuration comes from the environment, like an Auth0 connection's settings would:
`DEMO_RP_ISSUER`, `DEMO_RP_CLIENT_ID` (required), `DEMO_RP_CLIENT_SECRET` (empty for a public
client), `DEMO_RP_REDIRECT_URI` (default `http://127.0.0.1:<port>/callback`) and `DEMO_RP_PORT`
(default 8100). The session secret is random per process: pending logins live in memory and
die with it anyway.
"""

from __future__ import annotations

import os
import secrets

import httpx
import uvicorn

from demo_rp.app import create_app
from demo_rp.oidc_client import RelyingParty

DEFAULT_PORT = 8100
HTTP_TIMEOUT_SECONDS = 10.0


def main() -> None:
    issuer = _required("DEMO_RP_ISSUER")
    client_id = _required("DEMO_RP_CLIENT_ID")
    client_secret = os.environ.get("DEMO_RP_CLIENT_SECRET") or None
    port = _port(os.environ.get("DEMO_RP_PORT", str(DEFAULT_PORT)))
    redirect_uri = os.environ.get("DEMO_RP_REDIRECT_URI") or f"http://127.0.0.1:{port}/callback"
    with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False) as http:
        rp = RelyingParty(issuer, client_id, client_secret, redirect_uri, http)
        app = create_app(rp, session_secret=secrets.token_urlsafe(32))
        uvicorn.run(app, host="127.0.0.1", port=port)


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"demo_rp: set {name}")
    return value


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise SystemExit(f"demo_rp: DEMO_RP_PORT must be a TCP port, not {value!r}")
    return port


if __name__ == "__main__":
    main()
