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
lists are iterators that follow the cursors; every answer is a frozen dataclass with the
API's field names (`to_dict()` gives the JSON back, unknown fields are kept in `extra`);
errors raise `GatehouseError` subclasses that carry the problem details, and an answer
missing a field raises `MalformedResponse` naming it.
"""

from broker.sdk.client import Gatehouse
from broker.sdk.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    GatehouseError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    SdkError,
    Unauthorized,
)
from broker.sdk.models import (
    Certificate,
    Connection,
    Directory,
    DirectoryGroup,
    DirectoryUser,
    DnsRecord,
    Domain,
    Event,
    LastTest,
    OidcConnection,
    OidcSettings,
    Organization,
    PortalLink,
    Profile,
    SamlConnection,
    SamlSettings,
    User,
    Verification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "Certificate",
    "ConfigurationError",
    "Conflict",
    "Connection",
    "Directory",
    "DirectoryGroup",
    "DirectoryUser",
    "DnsRecord",
    "Domain",
    "Event",
    "Forbidden",
    "Gatehouse",
    "GatehouseError",
    "InvalidRequest",
    "LastTest",
    "MalformedResponse",
    "NotFound",
    "OidcConnection",
    "OidcSettings",
    "Organization",
    "PortalLink",
    "Profile",
    "RateLimited",
    "SamlConnection",
    "SamlSettings",
    "SdkError",
    "Unauthorized",
    "User",
    "Verification",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
