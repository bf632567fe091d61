"""No secret reaches a log line (docs/security.md T-05, issue 14 item 3): a whole SAML login,
the relying party's token and userinfo calls, and the app team's management API calls, with
every logger of the process at DEBUG (SQLAlchemy's statements and parameters included),
written as production writes them (JSON lines). The portal's own run is in
tests/admin_portal/test_security_leakage.py."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker import logs
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.management_api import app_team
from tests.support.saml_world import build_saml_world

#: The loggers that do not all propagate to the root by default, or sit above DEBUG.
LOUD = ("sqlalchemy", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore")


@pytest.fixture(scope="module")
def idp_keys() -> IdpKeys:
    return generate()


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """Everything the process logs while the test runs, as JSON lines."""
    logs.install()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.setLevel(logging.DEBUG)
    saved = {name: logging.getLogger(name).level for name in ("", *LOUD)}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in saved:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_a_whole_login_and_api_calls_at_debug_log_no_secret(
    store: Store, tmp_path: Path, idp_keys: IdpKeys, log_text: io.StringIO
) -> None:
    world = build_saml_world(store, tmp_path, idp_keys)
    rp = world.gatehouse
    with rp.client, world.idp:
        login, to_idp = world.start()
        postback = world.at_idp(to_idp)
        code = world.code_from(world.post(postback))
        tokens = rp.redeem(code, verifier=login.verifier).json()
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert rp.client.get("/userinfo", headers=bearer).status_code == 200
        backend = app_team(rp)
        assert backend.get("/events").status_code == 200
    text = log_text.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line["logger"].startswith("sqlalchemy") for line in lines)  # DEBUG reached SQL
    assert any(line.get("connection_id") == world.connection.id for line in lines)
    secrets = {
        "authorization code": code,
        "ID token": tokens["id_token"],
        "access token": tokens["access_token"],
        "PKCE verifier": login.verifier or "",
        "login client secret": rp.client_secret,
        "SAML response": postback.fields["SAMLResponse"],
        "management client secret": backend.client_secret,
        "management access token": backend.token,
        **{f"cookie {name}": value for name, value in rp.client.cookies.items()},
    }
    assert all(len(value) >= 16 for value in secrets.values()), secrets
    # A value cut short (a log value is capped) still ends or starts with its own characters.
    leaked = [what for what, value in secrets.items() if value[-24:] in text or value[:24] in text]
    assert not leaked, f"in the log: {leaked}"
