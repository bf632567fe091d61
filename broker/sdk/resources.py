"""The management API's richer resources: connections, self-service profiles, portal links,
users and events. Each method is one HTTP call (lists: one per page, lazily)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

from broker.sdk.errors import MalformedResponse
from broker.sdk.models import (
    Connection,
    Event,
    OidcConnection,
    PortalLink,
    Profile,
    SamlConnection,
    User,
    connection_from_json,
)
from broker.sdk.transport import Transport

C = TypeVar("C", SamlConnection, OidcConnection)


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _of_type(kind: type[C], data: Any) -> C:
    """The connection just created, of the type asked for (else the server misbehaved)."""
    connection = connection_from_json(data)
    if not isinstance(connection, kind):
        raise MalformedResponse("connection", "type", f"is {connection.type!r}")
    return connection


class Connections:
    """An organization's SSO connections. Secrets are write-only: the answers say
    `client_secret_set`, never the secret."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _path(self, organization_id: str, connection_id: str = "") -> str:
        base = f"/organizations/{organization_id}/connections"
        return f"{base}/{connection_id}" if connection_id else base

    def create_saml(
        self,
        organization_id: str,
        *,
        name: str | None = None,
        active: bool = False,
        **settings: Any,
    ) -> SamlConnection:
        """`metadata_url=`, `metadata_xml=`, or `idp_entity_id=`, `sso_url=` and
        `certificates=[...]`, plus any SAML option (`attribute_profile=`...). `active=True`:
        logins route to it at once; otherwise it waits for `activate`."""
        body = _without_none({"type": "saml", "name": name, "active": active, "settings": settings})
        return _of_type(
            SamlConnection, self._t.request("POST", self._path(organization_id), json=body)
        )

    def create_oidc(
        self,
        organization_id: str,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        name: str | None = None,
        active: bool = False,
        **settings: Any,
    ) -> OidcConnection:
        """`active=True`: logins route to it at once; otherwise it waits for `activate`."""
        fields = _without_none(
            {"issuer": issuer, "client_id": client_id, "client_secret": client_secret}
        )
        body = _without_none(
            {"type": "oidc", "name": name, "active": active, "settings": {**fields, **settings}}
        )
        return _of_type(
            OidcConnection, self._t.request("POST", self._path(organization_id), json=body)
        )

    def get(self, organization_id: str, connection_id: str) -> Connection:
        return connection_from_json(
            self._t.request("GET", self._path(organization_id, connection_id))
        )

    def list(self, organization_id: str) -> Iterator[Connection]:
        for item in self._t.pages(self._path(organization_id)):
            yield connection_from_json(item)

    def update(
        self, organization_id: str, connection_id: str, *, name: str | None = None, **settings: Any
    ) -> Connection:
        body = _without_none({"name": name, "settings": settings or None})
        path = self._path(organization_id, connection_id)
        return connection_from_json(self._t.request("PATCH", path, json=body))

    def activate(self, organization_id: str, connection_id: str) -> Connection:
        path = self._path(organization_id, connection_id) + "/activate"
        return connection_from_json(self._t.request("POST", path))

    def deactivate(self, organization_id: str, connection_id: str) -> Connection:
        path = self._path(organization_id, connection_id) + "/deactivate"
        return connection_from_json(self._t.request("POST", path))

    def delete(self, organization_id: str, connection_id: str) -> None:
        self._t.request("DELETE", self._path(organization_id, connection_id))


class Profiles:
    """Self-service profiles: what the portal offers a kind of customer."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, name: str, **fields: Any) -> Profile:
        """Fields as the API names them: `user_attributes=[{"name": "email", "required":
        True}]`, `branding={"logo_url": ..., "colors": {"primary": "#0055aa"}}`,
        `allowed_strategies=[...]`, `introduction=`, `description=`."""
        return Profile.from_json(
            self._t.request("POST", "/profiles", json={"name": name, **fields})
        )

    def get(self, profile_id: str) -> Profile:
        return Profile.from_json(self._t.request("GET", f"/profiles/{profile_id}"))

    def list(self) -> Iterator[Profile]:
        for item in self._t.pages("/profiles"):
            yield Profile.from_json(item)

    def update(self, profile_id: str, **fields: Any) -> Profile:
        return Profile.from_json(self._t.request("PATCH", f"/profiles/{profile_id}", json=fields))

    def delete(self, profile_id: str) -> None:
        self._t.request("DELETE", f"/profiles/{profile_id}")


class PortalLinks:
    """Magic links to the admin portal for a customer's IT admin."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(
        self,
        organization_id: str,
        *,
        features: list[str] | None = None,
        profile_id: str | None = None,
        connection_id: str | None = None,
        ttl_sec: int | None = None,
        max_uses: int | None = None,
    ) -> PortalLink:
        """The link's `url` is in this answer only: send it on at once."""
        body = _without_none(
            {
                "enabled_features": features,
                "profile_id": profile_id,
                "connection_id": connection_id,
                "ttl_sec": ttl_sec,
                "max_uses": max_uses,
            }
        )
        path = f"/organizations/{organization_id}/portal-links"
        return PortalLink.from_json(self._t.request("POST", path, json=body))

    def list(self, organization_id: str) -> Iterator[PortalLink]:
        for item in self._t.pages(f"/organizations/{organization_id}/portal-links"):
            yield PortalLink.from_json(item)

    def revoke(self, organization_id: str, link_id: str) -> None:
        self._t.request("DELETE", f"/organizations/{organization_id}/portal-links/{link_id}")


class Users:
    """People who logged in through an organization's connections."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(self, organization_id: str) -> Iterator[User]:
        for item in self._t.pages(f"/organizations/{organization_id}/users"):
            yield User.from_json(item)

    def get(self, organization_id: str, user_id: str) -> User:
        path = f"/organizations/{organization_id}/users/{user_id}"
        return User.from_json(self._t.request("GET", path))

    def delete(self, organization_id: str, user_id: str) -> None:
        self._t.request("DELETE", f"/organizations/{organization_id}/users/{user_id}")


class Events:
    """The audit log: newest first, or a window exported oldest first."""

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list(
        self,
        *,
        organization_id: str | None = None,
        type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[Event]:
        """`type` is exact (`login.failed`) or a prefix (`login.*`)."""
        params = _without_none(
            {
                "organization_id": organization_id,
                "type": type,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
            }
        )
        for item in self._t.pages("/events", params):
            yield Event.from_json(item)

    def export(
        self,
        *,
        since: datetime,
        until: datetime,
        organization_id: str | None = None,
        type: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Event]:
        """A closed, past window `[since, until)`, oldest first: every event once, however
        many pages it takes (for a SIEM; `until` a minute ago or more)."""
        params = _without_none(
            {
                "since": since.isoformat(),
                "until": until.isoformat(),
                "organization_id": organization_id,
                "type": type,
                "limit": page_size,
            }
        )
        for item in self._t.lines("/events/export", params):
            yield Event.from_json(item)
