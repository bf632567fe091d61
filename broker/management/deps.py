"""What the management use cases need from the rest of the broker, chosen in `broker.app`.

One value rather than a dozen constructor arguments, because every use case needs most of
it; each piece is still an injected seam (tests give a clock, an HTTP transport, a resolver
pointed at a DNS server on loopback).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from broker.clock import Clock
from broker.domain.model import AuditEvent
from broker.keys.crypto import SecretBox
from broker.management.dns_txt import TxtLookup
from broker.store import UnitOfWork
from broker.store.protocols import Store
from broker.upstream.outbound import OutboundPolicy


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementDeps:
    issuer: str
    store: Store
    clock: Clock
    secrets: SecretBox
    #: The guarded client for IdP metadata and discovery (M-08: the same SSRF guard as at
    #: login time).
    http: httpx.Client
    outbound: OutboundPolicy
    dns: TxtLookup
    production: bool
    #: Where portal links point (the portal's public base URL).
    portal_url: str


def record(
    uow: UnitOfWork,
    deps: ManagementDeps,
    kind: str,
    *,
    actor: str,
    organization_id: str | None = None,
    connection_id: str | None = None,
    reason: str | None = None,
    **detail: object,
) -> None:
    """An audit event for a change, in the change's own unit of work: the change and its
    record commit together or not at all (M-09)."""
    uow.audit.record(
        AuditEvent(
            at=deps.clock.now(),
            kind=kind,
            actor=actor,
            reason=reason,
            organization_id=organization_id,
            connection_id=connection_id,
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )
