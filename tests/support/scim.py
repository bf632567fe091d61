"""A Gatehouse with an organization and a directory, and SCIM clients for it: in process
(`client`, Starlette's TestClient) or over loopback HTTP (`served`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.testclient import TestClient

from broker.app import Broker
from broker.management.directories import IssuedToken
from broker.store import Store
from tests.support.gatehouse import Gatehouse, build_gatehouse
from tests.support.live_server import free_port, serve

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class ScimWorld:
    gatehouse: Gatehouse
    issued: IssuedToken
    other: IssuedToken

    @property
    def broker(self) -> Broker:
        return self.gatehouse.broker

    @property
    def store(self) -> Store:
        return self.gatehouse.store

    @property
    def directory_id(self) -> str:
        return self.issued.directory.id

    @property
    def path(self) -> str:
        return f"/scim/v2/{self.directory_id}"

    def client(self, token: str | None = None, *, directory_id: str | None = None) -> TestClient:
        """A SCIM client of the directory (by default with its token), paths relative to
        its base URL."""
        base = f"{self.gatehouse.settings.issuer}/scim/v2/{directory_id or self.directory_id}/"
        client = TestClient(self.gatehouse.app, base_url=base, raise_server_exceptions=True)
        client.headers["Content-Type"] = SCIM_JSON
        client.headers["Accept"] = SCIM_JSON
        value = self.issued.token if token is None else token
        if value:
            client.headers["Authorization"] = f"Bearer {value}"
        return client

    @contextmanager
    def served(self) -> Iterator[httpx.Client]:
        """The app on a loopback port; a client of the directory's base URL."""
        with serve(self.gatehouse.app, free_port()) as url:
            base = f"{url}/scim/v2/{self.directory_id}/"
            headers = {"Authorization": f"Bearer {self.issued.token}", "Content-Type": SCIM_JSON}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                yield client

    def events(self, prefix: str = "directory.") -> list[tuple[str, dict[str, Any]]]:
        with self.store.unit_of_work() as uow:
            found = uow.audit.list(
                limit=10_000, organization_id=self.issued.directory.organization_id
            )
        return [(e.kind, dict(e.detail)) for e in reversed(found) if e.kind.startswith(prefix)]

    def user_count(self) -> int:
        with self.store.unit_of_work() as uow:
            return uow.directory_users.count(self.directory_id)


def scim_world(store: Store, tmp_path: Any, **settings: Any) -> ScimWorld:
    gatehouse = build_gatehouse(store, tmp_path, **settings)
    management = gatehouse.broker.management
    org = gatehouse.organization("Acme Corp")
    other_org = gatehouse.organization("Other Corp")
    issued = management.directories.create("test", organization_id=org.id, name="Okta")
    other = management.directories.create("test", organization_id=other_org.id, name="Entra")
    return ScimWorld(gatehouse=gatehouse, issued=issued, other=other)


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": user_name, **extra}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
