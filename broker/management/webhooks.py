"""Webhook endpoints: register, read, change, delete, rotate the signing secret, read the
deliveries and their attempts, re-send an event by hand.

- The URL is checked by the same outbound guard as IdP URLs (M-08) when it is written,
  and again at every delivery (the address it resolves to then): https in production;
  in development http too, but only to loopback, where a developer's receiver runs.
- The signing secret is shown once (create, rotate), stored encrypted under
  GATEHOUSE_SECRET_KEY (`SecretBox`), never answered by a read.
- A disabled endpoint (by hand, or by Gatehouse after three days of failures) is sent
  nothing: its pending deliveries are held, neither attempted nor failed, and events
  recorded meanwhile are not queued for it. Enabling it again resumes what it held, due at
  once (one attempt each at least; one past its three days that fails then is failed);
  events of the disabled time can be resent by hand. Held deliveries older than the
  delivery retention are purged with the ended ones.
- A rotation keeps the previous secret signing beside the new one for an overlap (default
  24 hours, at most 7 days, or until `revoke_previous_secret`), so the app can deploy the
  new secret without a window in which its receiver refuses Gatehouse's requests.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from broker.keys.crypto import KeyDecryptionError
from broker.management import scoped
from broker.management.deps import ManagementDeps, record
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.opaque import new_id
from broker.model.webhook_catalogue import queued, valid_pattern
from broker.model.webhooks import (
    PENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from broker.store import NotFound, UnitOfWork
from broker.store.protocols import PageKey
from broker.upstream import outbound
from broker.webhooks import signing

MAX_URL = 2000
MAX_EVENT_TYPES = 50
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    endpoint: WebhookEndpoint
    #: `whsec_...`: in this value only, never stored in clear.
    secret: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointChange:
    """Fields to change; None keeps the stored value. `organization_id=""` clears it."""

    url: str | None = None
    event_types: Sequence[str] | None = None
    organization_id: str | None = None
    enabled: bool | None = None


class Webhooks:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create(
        self,
        actor: str,
        *,
        url: str,
        event_types: Sequence[str],
        organization_id: str | None = None,
        enabled: bool = True,
    ) -> IssuedSecret:
        self._check_url(url)
        patterns = _patterns(event_types)
        now = self._deps.clock.now()
        endpoint_id = new_id("whe")
        secret = signing.new_secret()
        endpoint = WebhookEndpoint(
            id=endpoint_id, url=url, event_types=patterns, organization_id=organization_id,
            enabled=enabled, secret_encrypted=signing.seal(self._deps.secrets, endpoint_id, secret),
            previous_secret_encrypted=None, previous_secret_expires_at=None,
            failing_since=None, disabled_reason=None, created_at=now, updated_at=now,
            created_by=actor,
        )  # fmt: skip
        with self._deps.store.unit_of_work() as uow:
            if organization_id is not None:
                scoped.organization(uow, organization_id)
            uow.webhook_endpoints.add(endpoint)
            _record(uow, self._deps, "webhook_endpoint.created", actor, endpoint)
        return IssuedSecret(endpoint, secret)

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        with self._deps.store.unit_of_work() as uow:
            return _endpoint(uow, endpoint_id)

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[WebhookEndpoint]:
        with self._deps.store.unit_of_work() as uow:
            return uow.webhook_endpoints.page(after=after, limit=limit)

    def update(self, actor: str, endpoint_id: str, change: EndpointChange) -> WebhookEndpoint:
        if change.url is not None:
            self._check_url(change.url)
        patterns = None if change.event_types is None else _patterns(change.event_types)
        now = self._deps.clock.now()
        with self._deps.store.unit_of_work() as uow:
            endpoint = _endpoint(uow, endpoint_id)
            organization_id = endpoint.organization_id
            if change.organization_id == "":
                organization_id = None
            elif change.organization_id is not None:
                scoped.organization(uow, change.organization_id)
                organization_id = change.organization_id
            enabled = endpoint.enabled if change.enabled is None else change.enabled
            changed = replace(
                endpoint,
                url=endpoint.url if change.url is None else change.url,
                event_types=endpoint.event_types if patterns is None else patterns,
                organization_id=organization_id,
                enabled=enabled,
                # Enabling by hand starts afresh: the failing run that disabled it is over.
                failing_since=endpoint.failing_since if not enabled or endpoint.enabled else None,
                disabled_reason=None if enabled else endpoint.disabled_reason,
                updated_at=now,
            )
            uow.webhook_endpoints.save(changed)
            resumed: dict[str, str] = {}
            if enabled and not endpoint.enabled:
                held = uow.webhook_deliveries.resume(endpoint_id, now=now)
                resumed = {"resumed_deliveries": str(held)}
            _record(uow, self._deps, "webhook_endpoint.updated", actor, changed, **resumed)
        return changed

    def delete(self, actor: str, endpoint_id: str) -> None:
        with self._deps.store.unit_of_work() as uow:
            endpoint = _endpoint(uow, endpoint_id)
            uow.webhook_endpoints.delete(endpoint_id)
            _record(uow, self._deps, "webhook_endpoint.deleted", actor, endpoint)

    def rotate_secret(
        self, actor: str, endpoint_id: str, *, overlap: timedelta = DEFAULT_OVERLAP
    ) -> IssuedSecret:
        """A new secret; the one it replaces keeps signing beside it for `overlap`."""
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidInput.at("/overlap_seconds", "must be from 0 to 7 days")
        box, now, secret = self._deps.secrets, self._deps.clock.now(), signing.new_secret()
        with self._deps.store.unit_of_work() as uow:
            endpoint = _endpoint(uow, endpoint_id)
            current = signing.unseal(box, endpoint_id, endpoint.secret_encrypted)
            rotated = replace(
                endpoint,
                secret_encrypted=signing.seal(box, endpoint_id, secret),
                previous_secret_encrypted=signing.seal(box, endpoint_id, current, "previous"),
                previous_secret_expires_at=now + overlap,
                updated_at=now,
            )
            uow.webhook_endpoints.save(rotated)
            _record(uow, self._deps, "webhook_endpoint.secret_rotated", actor, rotated)
        return IssuedSecret(rotated, secret)

    def revoke_previous_secret(self, actor: str, endpoint_id: str) -> WebhookEndpoint:
        """End a rotation's overlap now: only the current secret signs (idempotent)."""
        now = self._deps.clock.now()
        with self._deps.store.unit_of_work() as uow:
            endpoint = _endpoint(uow, endpoint_id)
            revoked = replace(
                endpoint,
                previous_secret_encrypted=None,
                previous_secret_expires_at=None,
                updated_at=now,
            )
            uow.webhook_endpoints.save(revoked)
            _record(uow, self._deps, "webhook_endpoint.previous_secret_revoked", actor, revoked)
        return revoked

    def deliveries(
        self, endpoint_id: str, *, before: PageKey | None, limit: int
    ) -> Sequence[WebhookDelivery]:
        with self._deps.store.unit_of_work() as uow:
            _endpoint(uow, endpoint_id)
            return uow.webhook_deliveries.page(endpoint_id, before=before, limit=limit)

    def delivery(
        self, endpoint_id: str, delivery_id: str
    ) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
        """A delivery of this endpoint with its attempts, oldest first."""
        with self._deps.store.unit_of_work() as uow:
            try:
                delivery = uow.webhook_deliveries.get(delivery_id)
            except NotFound as exc:
                raise ResourceNotFound(f"delivery {delivery_id}") from exc
            if delivery.endpoint_id != endpoint_id:
                raise ResourceNotFound(f"delivery {delivery_id}")
            return delivery, uow.webhook_deliveries.attempts(delivery_id)

    def resend(self, actor: str, endpoint_id: str, event_id: str) -> WebhookDelivery:
        """A new delivery of a past event, due now, with the event's id as `webhook-id` (the
        receiver de-duplicates a copy it already has). Only an event the endpoint may see:
        a deliverable kind, of its organization if it has one."""
        now = self._deps.clock.now()
        with self._deps.store.unit_of_work() as uow:
            endpoint = _endpoint(uow, endpoint_id)
            try:
                event = uow.webhook_deliveries.event(event_id)
            except NotFound as exc:
                raise ResourceNotFound(f"event {event_id}") from exc
            foreign = endpoint.organization_id not in (None, event.organization_id)
            if foreign:
                raise ResourceNotFound(f"event {event_id}")
            if not queued(event.kind):
                raise InvalidInput.at("/event_id", f"{event.kind} events are not delivered")
            delivery = WebhookDelivery(
                id=new_id("whd"), endpoint_id=endpoint_id, event_id=event_id, status=PENDING,
                attempts=0, next_attempt_at=now, created_at=now, finished_at=None, manual=True,
            )  # fmt: skip
            uow.webhook_deliveries.add([delivery])
            _record(
                uow, self._deps, "webhook_endpoint.resent", actor, endpoint,
                event_id=event_id, delivery_id=delivery.id,
            )  # fmt: skip
        return delivery

    def seal_secret(self, endpoint_id: str, secret: str) -> str:
        """The secret encrypted for the one place an answer with it must be kept: the
        reply a retried request (same Idempotency-Key) replays."""
        blob = signing.seal(self._deps.secrets, endpoint_id, secret, "replay")
        return base64.urlsafe_b64encode(blob).decode()

    def unseal_secret(self, endpoint_id: str, sealed: str) -> str:
        try:
            blob = base64.urlsafe_b64decode(sealed.encode())
            return signing.unseal(self._deps.secrets, endpoint_id, blob, "replay")
        except (KeyDecryptionError, ValueError) as exc:
            raise ResourceConflict("the secret of this request cannot be shown again; "
                                   "rotate it") from exc  # fmt: skip

    def _check_url(self, url: str) -> None:
        if len(url) > MAX_URL:
            raise InvalidInput.at("/url", f"must be at most {MAX_URL} characters")
        try:
            outbound.check_url(url, self._deps.outbound)
            parts = urlsplit(url)
        except (outbound.OutboundError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, outbound.OutboundError) else "not a URL"
            raise InvalidInput.at("/url", detail) from exc
        if parts.fragment:
            raise InvalidInput.at("/url", "must not carry a fragment")
        if parts.scheme == "http" and not _loopback(parts.hostname or ""):
            raise InvalidInput.at("/url", "must be https (http only to loopback, in development)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _patterns(event_types: Sequence[str]) -> tuple[str, ...]:
    if not event_types:
        raise InvalidInput.at("/event_types", "name at least one event type, or *")
    if len(event_types) > MAX_EVENT_TYPES:
        raise InvalidInput.at("/event_types", f"at most {MAX_EVENT_TYPES} event types")
    for index, pattern in enumerate(event_types):
        if not valid_pattern(pattern):
            raise InvalidInput.at(
                f"/event_types/{index}",
                "an event type (connection.activated), a family (connection.*) or *; "
                "families: organization, domain, connection, portal_link, directory, "
                "webhook_endpoint, login",
            )
    return tuple(dict.fromkeys(event_types))


def _endpoint(uow: UnitOfWork, endpoint_id: str) -> WebhookEndpoint:
    try:
        return uow.webhook_endpoints.get(endpoint_id)
    except NotFound as exc:
        raise ResourceNotFound(f"webhook endpoint {endpoint_id}") from exc


def _record(
    uow: UnitOfWork,
    deps: ManagementDeps,
    kind: str,
    actor: str,
    endpoint: WebhookEndpoint,
    **detail: str,
) -> None:
    record(
        uow, deps, kind, actor=actor, organization_id=endpoint.organization_id,
        endpoint_id=endpoint.id, url=endpoint.url, **detail,
    )  # fmt: skip
