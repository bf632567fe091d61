"""`gatehouse`: the operator's command line. Every command that creates something can print
JSON (`--json`) for configuration-as-code pipelines.

    root.py         the group and shared helpers
    operate.py      migrate, serve, purge, demo, clients, keys
    tenants.py      orgs, domains
    connections.py  connections
    management_clients.py  management-clients (the management API's callers)
    portal_links.py portal-links
    events.py       events list, events follow
    jobs.py         jobs run, jobs list (the scheduled jobs)
    doctor.py       doctor: is this deployment able to serve logins?
    auth0.py        auth0 connect, auth0 sync, auth0 action
    webhooks.py     webhooks (endpoints, deliveries, resend), worker
    directories.py  directories (SCIM): create, list, rotate-token, revoke, users, groups
"""

from __future__ import annotations

from collections.abc import Sequence

# Importing the command modules registers their commands on the group.
from broker.cli import (
    auth0,
    connections,
    directories,
    doctor,
    events,
    jobs,
    management_clients,
    operate,
    portal_links,
    tenants,
    webhooks,
)
from broker.cli.root import cli

__all__ = [
    "auth0",
    "cli",
    "connections",
    "directories",
    "doctor",
    "events",
    "jobs",
    "main",
    "management_clients",
    "operate",
    "portal_links",
    "tenants",
    "webhooks",
]


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="gatehouse")
