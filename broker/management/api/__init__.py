"""The management REST API (`/api/v1`): the operation table, built from the use cases.

GET  /api/v1/openapi.json      the OpenAPI 3.1 document (generated from this table)
GET  /api/v1/docs              a browsable page of the same
*    /api/v1/...               each Operation: see build_operations
"""

from __future__ import annotations

from broker.management import Management
from broker.management.api import (
    connections,
    directories,
    domains,
    events,
    organizations,
    portal_links,
    profiles,
    users,
    webhooks,
)
from broker.management.api.operations import Operation


def build_operations(management: Management) -> list[Operation]:
    return [
        *organizations.operations(management),
        *domains.operations(management),
        *connections.operations(management),
        *profiles.operations(management),
        *portal_links.operations(management),
        *users.operations(management),
        *events.operations(management),
        *webhooks.operations(management),
        *directories.operations(management),
    ]


__all__ = ["Operation", "build_operations"]
