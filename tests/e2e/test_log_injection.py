"""Nobody can forge a log line (issue 12 item 5): every route of Gatehouse, read from the app
itself, gets CR, LF, NUL, an escape sequence and a Unicode line separator in every place a
request can carry them (path parameters, query, form fields), under uvicorn on loopback with
its access log on; then every log record of the run, formatted as a text log would, must be
one line without a control character, and none may be longer than the caps allow.

Fails without `broker.logs.install()` (the records then carry the raw values).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from starlette.routing import BaseRoute, Mount, Route

from broker.app import create_app
from broker.store.sql import SqlStore
from tests.support import databases
from tests.support.config import make_settings
from tests.support.live_server import free_port, serve_config

pytestmark = pytest.mark.e2e

HOSTILE = "x\r\nINFO forged: admin logged in\x00\x1b[31m\u2028\u0085end"
FIELDS = (
    "flow", "form_token", "email", "connection", "SAMLResponse", "RelayState", "state",
    "code", "error", "error_description", "iss", "client_id", "client_secret", "grant_type",
    "redirect_uri", "code_verifier", "access_token", "csrf", "source", "metadata_url",
    "issuer", "domain", "name",
)  # fmt: skip
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def routes(items: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through mounts and the wrappers around them."""
    for item in items:
        if isinstance(item, Route):
            for method in sorted((item.methods or {"GET"}) - {"HEAD"}):
                yield method, prefix + item.path
        elif isinstance(item, Mount):
            app: object = item.app
            while not hasattr(app, "routes") and hasattr(app, "app"):
                app = app.app
            inner = getattr(app, "routes", None)
            if inner:
                yield from routes(list(inner), prefix + item.path)
            else:
                yield "GET", prefix + item.path + "/{file}"


def filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", quote(HOSTILE, safe=""), path)


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_no_request_value_can_forge_or_flood_a_log_line(
    sqlite_template: Path, tmp_path: Path, records: pytest.LogCaptureFixture
) -> None:
    with databases.sqlite_copy(sqlite_template, tmp_path) as database:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        app = create_app(make_settings(tmp_path, issuer=issuer), store=SqlStore(database.engine))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, log_level="debug",
            access_log=True, lifespan="off",
        )  # fmt: skip
        sent = 0
        with serve_config(config), httpx.Client(base_url=issuer, timeout=30) as http:
            for method, path in routes(app.routes):
                url = filled(path)
                query = {"q": HOSTILE, "state": HOSTILE, "login_hint": HOSTILE, "code": HOSTILE}
                if method == "GET":
                    response = http.get(url, params=query)
                else:
                    response = http.request(
                        method, url, params=query, data=dict.fromkeys(FIELDS, HOSTILE)
                    )
                assert response.status_code < 500, (method, path, response.text[:500])
                sent += 1
        app.state.broker.close()
    assert sent > 40  # the whole route table, not a handful
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    lines = [formatter.format(record) for record in records.records]
    assert any("forged" in line for line in lines), "the values never reached a log line"
    for line in lines:
        assert not _CONTROL.search(line), repr(line)
        assert len(line) < 6_000, line[:300]
