"""A typed Python client for Gatehouse's management API (sync, on httpx).

It shares no code with the server on purpose (an import contract keeps it apart): it speaks
only the published HTTP API, as any app team's backend would, so it can be split into its own
distribution, and a server change that breaks it breaks a test.

    from broker.sdk import Gatehouse

    with Gatehouse("https://sso.example.com", client_id, client_secret) as gatehouse:
        acme = gatehouse.organizations.create("Acme Corp", external_id="acme")
        claim = gatehouse.domains.add(acme.id, "acme.com")   # claim.verification: TXT to publish
        link = gatehouse.portal_links.create(acme.id, features=["sso", "domain_verification"])
        for event in gatehouse.events.list(organization_id=acme.id):
            ...

Tokens are fetched with the client credentials grant and refreshed before they expire;
lists are iterators that follow the cursors; errors raise `GatehouseError` subclasses that
carry the problem details.
"""

from broker.sdk.client import Gatehouse
from broker.sdk.errors import (
    Conflict,
    Forbidden,
    GatehouseError,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthorized,
)

__all__ = [
    "Conflict",
    "Forbidden",
    "Gatehouse",
    "GatehouseError",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "Unauthorized",
]
