"""What the API answers, as frozen dataclasses (a field the server adds later is ignored,
not an error: the client keeps working against a newer Gatehouse)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def _parse(cls: type[T], data: Mapping[str, Any]) -> T:
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in known})


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    external_id: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Organization:
        return cls(
            id=data["id"],
            name=data["name"],
            external_id=data.get("external_id"),
            created_at=_instant(data.get("created_at")),
        )


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """Publish this at your DNS provider, then verify."""

    type: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    verified: bool
    verified_at: datetime | None
    verification: DnsRecord | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Domain:
        record = data.get("verification")
        return cls(
            name=data["name"],
            verified=bool(data["verified"]),
            verified_at=_instant(data.get("verified_at")),
            verification=_parse(DnsRecord, record) if record else None,
        )


@dataclass(frozen=True, slots=True)
class Verification:
    verified: bool
    reason: str | None
    detail: str | None
    domain: Domain

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verification:
        return cls(
            verified=data["status"] == "verified",
            reason=data.get("reason"),
            detail=data.get("detail"),
            domain=Domain.from_json(data["domain"]),
        )


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource whose fields are read as a mapping (`raw`) plus the ones every caller
    needs by name; used where the API's shape is rich (connections, profiles, events)."""

    id: str
    raw: Mapping[str, Any] = field(repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resource:
        return cls(id=str(data.get("id", "")), raw=dict(data))


@dataclass(frozen=True, slots=True)
class PortalLink:
    id: str
    organization_id: str | None
    enabled_features: tuple[str, ...]
    expires_at: datetime | None
    status: str
    #: Only in the answer that created the link.
    url: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortalLink:
        return cls(
            id=data["id"],
            organization_id=data.get("organization_id"),
            enabled_features=tuple(data.get("enabled_features", ())),
            expires_at=_instant(data.get("expires_at")),
            status=str(data.get("status", "")),
            url=data.get("url"),
        )
