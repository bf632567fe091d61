"""`Gatehouse`: the management API, one attribute per resource."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

from broker.sdk.directories import Directories
from broker.sdk.errors import ConfigurationError
from broker.sdk.models import Domain, Organization, Verification
from broker.sdk.resources import Connections, Events, PortalLinks, Profiles, Users
from broker.sdk.transport import Transport
from broker.sdk.webhooks import Webhooks

_UNSET: Any = object()


class Organizations:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, name: str, *, external_id: str | None = None) -> Organization:
        body: dict[str, Any] = {"name": name}
        if external_id is not None:
            body["external_id"] = external_id
        return Organization.from_json(self._t.request("POST", "/organizations", json=body))

    def get(self, organization_id: str) -> Organization:
        return Organization.from_json(self._t.request("GET", f"/organizations/{organization_id}"))

    def get_by_external_id(self, external_id: str) -> Organization:
        data = self._t.request("GET", f"/organizations/by-external-id/{external_id}")
        return Organization.from_json(data)

    def list(self, *, page_size: int | None = None) -> Iterator[Organization]:
        for item in self._t.pages("/organizations", {"limit": page_size}):
            yield Organization.from_json(item)

    def update(
        self, organization_id: str, *, name: str | None = None, external_id: Any = _UNSET
    ) -> Organization:
        """`external_id=None` removes it; leaving it out keeps it."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if external_id is not _UNSET:
            body["external_id"] = external_id
        data = self._t.request("PATCH", f"/organizations/{organization_id}", json=body)
        return Organization.from_json(data)

    def delete(self, organization_id: str) -> None:
        self._t.request("DELETE", f"/organizations/{organization_id}")


class Domains:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def add(self, organization_id: str, name: str) -> Domain:
        data = self._t.request(
            "POST", f"/organizations/{organization_id}/domains", json={"name": name}
        )
        return Domain.from_json(data)

    def get(self, organization_id: str, name: str) -> Domain:
        return Domain.from_json(
            self._t.request("GET", f"/organizations/{organization_id}/domains/{name}")
        )

    def list(self, organization_id: str) -> Iterator[Domain]:
        for item in self._t.pages(f"/organizations/{organization_id}/domains"):
            yield Domain.from_json(item)

    def verify(self, organization_id: str, name: str) -> Verification:
        """Gatehouse resolves the TXT record now; a failure is an answer, not an error."""
        data = self._t.request("POST", f"/organizations/{organization_id}/domains/{name}/verify")
        return Verification.from_json(data)

    def assert_verified(self, organization_id: str, name: str) -> Domain:
        """Verified on this client's word, without DNS: needs the `domains:assert` scope,
        granted only by name. Audited with this client as the actor."""
        path = f"/organizations/{organization_id}/domains/{name}/assert-verified"
        return Domain.from_json(self._t.request("POST", path))

    def delete(self, organization_id: str, name: str) -> None:
        self._t.request("DELETE", f"/organizations/{organization_id}/domains/{name}")


class Gatehouse:
    """The management API of the Gatehouse at `issuer`, as a management client."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: tuple[str, ...] = (),
        http: httpx.Client | None = None,
    ) -> None:
        self._transport = Transport(issuer, client_id, client_secret, scopes=scopes, http=http)
        self.organizations = Organizations(self._transport)
        self.domains = Domains(self._transport)
        self.connections = Connections(self._transport)
        self.profiles = Profiles(self._transport)
        self.portal_links = PortalLinks(self._transport)
        self.users = Users(self._transport)
        self.events = Events(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.directories = Directories(self._transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Gatehouse:
        """From `GATEHOUSE_URL` (default the local demo's), `GATEHOUSE_CLIENT_ID` and
        `GATEHOUSE_CLIENT_SECRET`, as a twelve-factor backend keeps its credentials."""
        env = os.environ if environ is None else environ
        return cls(
            env.get("GATEHOUSE_URL", "http://127.0.0.1:8000"),
            _required(env, "GATEHOUSE_CLIENT_ID"),
            _required(env, "GATEHOUSE_CLIENT_SECRET"),
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Gatehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _required(env: Mapping[str, str], name: str) -> str:
    """An empty value counts as unset: `export GATEHOUSE_CLIENT_ID=` is a mistake too."""
    value = env.get(name)
    if not value:
        raise ConfigurationError(f"{name} is not set")
    return value
