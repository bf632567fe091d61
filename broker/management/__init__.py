"""The management use-case layer, and the REST API on top of it (`api/`).

Every change an app team or an IT admin makes goes through these use cases, whatever the
door: the management API, the CLI, the admin portal. A rule (a domain is verified by one
organization only; a connection config is parsed by its connector before it is stored)
holds everywhere at once because it lives in one place.

    organizations.py   Organizations  create, list, read, update, delete (cascades)
    domains.py         Domains        claim, verify by DNS TXT, list, release
    connections.py     Connections    SAML and OIDC: create, read, update, (de)activate, delete
    connection_setup.py ConnectionSetup the portal's setup: begin, readiness, tested activation
    connection_tests.py ConnectionTests the results of a connection's test logins (read only)
    connection_drafts.py ConnectionDrafts changes to a live connection: draft, test, switch over
    connection_health.py ConnectionHealth whether the IdP is reachable (circuit breaker events)
    certificate_use.py CertificateUseLog which IdP certificate verified a SAML login
    profiles.py        Profiles       self-service profiles: IdPs, attributes, branding
    portal_links.py    PortalLinks    create (URL once), list, revoke, redeem (the portal)
    users.py           Users          identities that logged in, per organization
    events.py          Events         the audit log, newest first, filtered
    webhooks.py        Webhooks       endpoints, secret rotation, deliveries, resend
    directories.py     Directories    SCIM directories: create (token once), rotate, revoke
    scoped.py          reads scoped to one organization (another's is "not found")
    access.py          management clients, client-credentials tokens, scopes
    api/               the REST adapter: operation table, dispatch, problems, OpenAPI
"""

from __future__ import annotations

from broker.management.connection_drafts import ConnectionDrafts
from broker.management.connection_health import ConnectionHealth
from broker.management.connection_setup import ConnectionSetup
from broker.management.connection_tests import ConnectionTests
from broker.management.connections import Connections
from broker.management.deps import ManagementDeps
from broker.management.directories import Directories
from broker.management.domains import Domains
from broker.management.events import Events
from broker.management.organizations import Organizations
from broker.management.portal_links import PortalLinks
from broker.management.profiles import Profiles
from broker.management.users import Users
from broker.management.webhooks import Webhooks


class Management:
    """The use cases, built once per broker from its dependencies."""

    def __init__(self, deps: ManagementDeps) -> None:
        self.deps = deps
        self.organizations = Organizations(deps)
        self.domains = Domains(deps)
        self.connections = Connections(deps)
        self.connection_setup = ConnectionSetup(deps, self.connections)
        self.connection_tests = ConnectionTests(deps)
        self.connection_drafts = ConnectionDrafts(deps, self.connections)
        self.connection_health = ConnectionHealth(deps.store, deps.clock)
        self.profiles = Profiles(deps)
        self.portal_links = PortalLinks(deps)
        self.users = Users(deps)
        self.events = Events(deps)
        self.webhooks = Webhooks(deps)
        self.directories = Directories(deps)


__all__ = ["Management", "ManagementDeps"]
