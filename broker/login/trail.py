"""What an audit event about one login callback says, gathered as it becomes known."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from broker.http import HttpRequest
from broker.model.opaque import hash_secret, looks_like_id, new_id
from broker.model.records import AuditEvent


@dataclass(frozen=True, slots=True)
class LoginTrail:
    connection_id: str | None
    flow_id: str | None
    request: HttpRequest
    organization_id: str | None = None
    #: The connection's kind (`saml`, `oidc`...), for the login metrics; None before any.
    protocol: str | None = None

    def with_organization(self, organization_id: str) -> LoginTrail:
        return replace(self, organization_id=organization_id)

    def event(
        self, kind: str, reason: str | None, *, now: datetime, detail: dict[str, object]
    ) -> AuditEvent:
        return AuditEvent(
            id=new_id("evt"),
            at=now,
            kind=kind,
            reason=reason,
            organization_id=self.organization_id,
            # The path's id when it can be one of ours (a NUL cannot be stored); the refusal's
            # detail still says what arrived.
            connection_id=self.connection_id if looks_like_id(self.connection_id) else None,
            # A reference, not the id: a live flow id is a bearer secret for that login.
            flow_id=hash_secret(self.flow_id)[:16] if self.flow_id else None,
            request_id=self.request.request_id,
            detail={k: v for k, v in detail.items() if v},
        )
