"""An independent SCIM 2.0 server on loopback for the simulator's SCIM client: scim2-server's
in-memory storage behind its bearer-token WSGI application, in a threaded server. Tests
read the storage directly to check what the pushed requests did."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

TOKEN = "scim-test-token-0123456789"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    body: Any


class Recorder:
    """WSGI middleware keeping what arrived (method, path, query, JSON body): the tests
    check the wire shape each dialect sends, as the server saw it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: list[Received] = []
        #: Methods answered 204 without reaching the server: a server that says yes and
        #: does nothing, for the scenarios' read-back checks.
        self.ignored: set[str] = set()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        self.received.append(
            Received(
                method=environ["REQUEST_METHOD"],
                path=environ["PATH_INFO"],
                query=unquote(environ.get("QUERY_STRING", "")),
                body=json.loads(raw) if raw else None,
            )
        )
        if environ["REQUEST_METHOD"] in self.ignored:
            start_response("204 No Content", [])
            return [b""]
        return self.app(environ, start_response)


@dataclass
class ScimServer:
    base_url: str
    storage: InMemoryStorage
    recorder: Recorder

    @property
    def received(self) -> list[Received]:
        return list(self.recorder.received)

    def users(self) -> list[dict[str, Any]]:
        return self._of_type("User")

    def groups(self) -> list[dict[str, Any]]:
        return self._of_type("Group")

    def _of_type(self, resource_type: str) -> list[dict[str, Any]]:
        dumped = [r.model_dump() for r in self.storage.resources]
        return [r for r in dumped if r["meta"]["resourceType"] == resource_type]

    def user(self, user_name: str) -> dict[str, Any]:
        found = [u for u in self.users() if u["userName"] == user_name]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="session")
def scim_provider() -> ScimProvider:
    """RFC 7643's schemas and resource types, bearer tokens announced (built once: it is
    the slow part, and read-only)."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    return ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )


@pytest.fixture
def scim_server(scim_provider: ScimProvider) -> Iterator[ScimServer]:
    provider = scim_provider
    storage = InMemoryStorage()
    app = BearerTokenApplication(
        storage, provider, service=ScimService(provider, secret="x" * 32), bearer_tokens=[TOKEN]
    )
    recorder = Recorder(app)
    server = make_server(
        "127.0.0.1", 0, recorder, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ScimServer(f"http://127.0.0.1:{server.server_port}/v2", storage, recorder)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
