"""The management API in process: a Gatehouse (tests/support/gatehouse.py), management
clients with chosen scopes, and a caller that fetches its token at /token (client
credentials) as an app team's backend does, then calls /api/v1 with it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.testclient import TestClient

from broker.management.access import api_audience, register_management_client
from broker.model.management import ORDINARY_SCOPES
from broker.store import Store
from tests.support.config import ISSUER
from tests.support.gatehouse import Gatehouse, build_gatehouse

API = "/api/v1"


@dataclass
class Caller:
    """An app team's backend: its credentials and the token it holds."""

    http: TestClient
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    token: str = ""

    def fetch_token(self, **form: str) -> httpx.Response:
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": api_audience(ISSUER),
            **form,
        }
        response: httpx.Response = self.http.post("/token", data=data)
        return response

    def authorized(self) -> dict[str, str]:
        if not self.token:
            response = self.fetch_token()
            assert response.status_code == 200, response.text
            self.token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.authorized(), **kwargs.pop("headers", {})}
        response: httpx.Response = self.http.request(method, API + path, headers=headers, **kwargs)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class ApiWorld(Gatehouse):
    #: The app team's backend's HTTP client (every caller shares it).
    http: TestClient
    callers: dict[str, Caller] = field(default_factory=dict)

    def caller(self, *scopes: str, name: str = "backend") -> Caller:
        """A new management client granted `scopes` (all but the privileged ones if none
        are named: those only by name, as in production)."""
        return register_caller(self, self.http, *scopes, name=name)

    def admin(self) -> Caller:
        return self.callers.setdefault("admin", self.caller(name="admin"))


def register_caller(world: Gatehouse, http: TestClient, *scopes: str, name: str) -> Caller:
    granted = scopes or ORDINARY_SCOPES
    with world.store.unit_of_work() as uow:
        registered = register_management_client(
            uow, name=name, scopes=list(granted), now=world.clock.now()
        )
    return Caller(
        http=http,
        client_id=registered.client.client_id,
        client_secret=registered.client_secret,
        scopes=tuple(granted),
    )


def app_team(world: Gatehouse) -> Caller:
    """The app team's backend as a management API client that reads events."""
    return register_caller(
        world, world.browser(raise_server_exceptions=True), "events:read", name="backend"
    )


def build_api_world(store: Store, tmp_path: Any, **gatehouse: Any) -> ApiWorld:
    """`build_gatehouse`, with its arguments (`dns`, `http`: the broker's outbound client for
    IdP metadata and discovery, `Settings` fields)."""
    built = build_gatehouse(store, tmp_path, **gatehouse)
    return ApiWorld(**vars(built), http=built.browser())


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
