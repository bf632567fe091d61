"""Webhook endpoints: register where Gatehouse sends events, rotate the signing secret,
read what was delivered and what the receiver answered, re-send an event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from broker.sdk.models import WebhookDelivery, WebhookEndpoint
from broker.sdk.transport import Transport

_BASE = "/webhook-endpoints"


class Webhooks:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(
        self,
        url: str,
        event_types: list[str],
        *,
        organization_id: str | None = None,
        enabled: bool = True,
    ) -> WebhookEndpoint:
        """The answer's `secret` (`whsec_...`) is shown only here: store it at once."""
        body: dict[str, Any] = {"url": url, "event_types": event_types, "enabled": enabled}
        if organization_id is not None:
            body["organization_id"] = organization_id
        return WebhookEndpoint.from_json(self._t.request("POST", _BASE, json=body))

    def list(self) -> Iterator[WebhookEndpoint]:
        for item in self._t.pages(_BASE):
            yield WebhookEndpoint.from_json(item)

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.from_json(self._t.request("GET", f"{_BASE}/{endpoint_id}"))

    def update(self, endpoint_id: str, **fields: Any) -> WebhookEndpoint:
        """url, event_types, organization_id ("" for every organization's), enabled."""
        answer = self._t.request("PATCH", f"{_BASE}/{endpoint_id}", json=fields)
        return WebhookEndpoint.from_json(answer)

    def delete(self, endpoint_id: str) -> None:
        self._t.request("DELETE", f"{_BASE}/{endpoint_id}")

    def rotate_secret(self, endpoint_id: str, *, overlap_seconds: int = 86_400) -> WebhookEndpoint:
        """A new `secret` (in this answer only); the previous one keeps signing beside it
        for `overlap_seconds`, or until `revoke_previous_secret`."""
        path = f"{_BASE}/{endpoint_id}/rotate-secret"
        answer = self._t.request("POST", path, json={"overlap_seconds": overlap_seconds})
        return WebhookEndpoint.from_json(answer)

    def revoke_previous_secret(self, endpoint_id: str) -> WebhookEndpoint:
        path = f"{_BASE}/{endpoint_id}/revoke-previous-secret"
        return WebhookEndpoint.from_json(self._t.request("POST", path))

    def deliveries(self, endpoint_id: str) -> Iterator[WebhookDelivery]:
        """Newest first, lazily, one page per call."""
        for item in self._t.pages(f"{_BASE}/{endpoint_id}/deliveries"):
            yield WebhookDelivery.from_json(item)

    def delivery(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """One delivery with its `attempt_log`."""
        path = f"{_BASE}/{endpoint_id}/deliveries/{delivery_id}"
        return WebhookDelivery.from_json(self._t.request("GET", path))

    def resend(self, endpoint_id: str, event_id: str) -> WebhookDelivery:
        path = f"{_BASE}/{endpoint_id}/resend"
        return WebhookDelivery.from_json(self._t.request("POST", path, json={"event_id": event_id}))
