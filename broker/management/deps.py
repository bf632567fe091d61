"""What the management use cases need from the rest of the broker, chosen in `broker.app`.

One value rather than a dozen constructor arguments, because every use case needs most of
it; each piece is still an injected seam (tests give a clock, an HTTP transport, a resolver
pointed at a DNS server on loopback).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from broker.clock import Clock
from broker.keys.crypto import SecretBox
from broker.management.dns_txt import TxtLookup
from broker.management.errors import InvalidInput
from broker.model.records import AuditEvent
from broker.store import UnitOfWork
from broker.store.protocols import Store
from broker.upstream.base import UpstreamUnavailable
from broker.upstream.bulkhead import Bulkheads
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
    #: The process's bulkheads: setup fetches of one organization share a slot.
    bulkheads: Bulkheads = field(default_factory=Bulkheads)


@contextmanager
def fetching_for(deps: ManagementDeps, organization_id: str, pointer: str) -> Iterator[None]:
    """A setup fetch (IdP metadata, OIDC discovery) in the organization's bulkhead: an admin
    who submits a slow URL many times holds a few workers for a deadline each, not all of
    them. Over the limit, the field says to try again."""
    try:
        with deps.bulkheads.slot(f"setup:{organization_id}", breaker=False):
            yield
    except UpstreamUnavailable as exc:
        raise InvalidInput.at(
            pointer,
            "Gatehouse is still waiting for this organization's earlier requests to its "
            "identity provider; try again in a minute.",
        ) from exc


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
