"""The management API in process: a broker app, management clients with chosen scopes, and
a caller that fetches its token at /token (client credentials) as an app team's backend
does, then calls /api/v1 with it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.testclient import TestClient

from broker.app import Broker, create_app
from broker.clock import FixedClock
from broker.management.access import api_audience, register_management_client
from broker.management.dns_txt import TxtLookup
from broker.model.management import SCOPES
from broker.store import Store
from tests.support.config import ISSUER, make_settings

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
class ApiWorld:
    store: Store
    clock: FixedClock
    http: TestClient
    broker: Broker
    callers: dict[str, Caller] = field(default_factory=dict)

    def caller(self, *scopes: str, name: str = "backend") -> Caller:
        """A new management client granted `scopes` (all of them if none are named)."""
        granted = scopes or SCOPES
        with self.store.unit_of_work() as uow:
            registered = register_management_client(
                uow, name=name, scopes=list(granted), now=self.clock.now()
            )
        return Caller(
            http=self.http,
            client_id=registered.client.client_id,
            client_secret=registered.client_secret,
            scopes=tuple(granted),
        )

    def admin(self) -> Caller:
        return self.callers.setdefault("admin", self.caller(name="admin"))


def build_api_world(
    store: Store,
    tmp_path: Any,
    *,
    dns: TxtLookup | None = None,
    http: httpx.Client | None = None,
    **settings: Any,
) -> ApiWorld:
    """`http` is the broker's outbound client (IdP metadata and discovery)."""
    clock = FixedClock()
    app = create_app(
        make_settings(tmp_path, **settings), store=store, clock=clock, dns=dns, http=http
    )
    http = TestClient(app, base_url=ISSUER, raise_server_exceptions=False)
    return ApiWorld(store=store, clock=clock, http=http, broker=app.state.broker)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
