"""The admin portal's values: a customer IT admin's session, a test login, its result.

A portal session is what a portal link is exchanged for (docs/security.md T-03): the link's
token is spent once, the session cookie carries a new secret, and only its hash is stored.
The session is bound to one organization, the link's features and (for an edit link) one
connection; every portal query is scoped by it, never by an id from the request (T-04).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from broker.model.records import JsonObject


def config_digest(config: Mapping[str, Any]) -> str:
    """Which settings a test tested: activation (and a draft's switch-over) requires a
    passed test of exactly these, so settings changed after their test are tested again."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalSession:
    id_hash: str
    organization_id: str
    link_id: str
    features: tuple[str, ...]
    #: An edit link's connection; None for a new-connection link.
    connection_id: str | None
    profile_id: str | None
    #: The synchronizer token every portal form carries (T-08).
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    #: Absolute end: the session never outlives this, however active.
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialLogin:
    """Carried by a flow that is a portal test login rather than a login for an app: the
    callback records a report instead of issuing a code to anyone."""

    portal_session: str  # the session's id hash
    #: Test the connection's pending draft (an edit of an active connection), not its
    #: active settings.
    use_draft: bool
    #: Which settings were tested: activation requires a passed test of exactly these.
    config_digest: str
    #: The portal link whose session started the test: its audit event's actor
    #: (`portal_link:<id>`), as for every other change made through that link. None on a
    #: flow stored before the field existed.
    portal_link: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionTest:
    """The outcome of one test login, as the portal shows it."""

    id: str
    organization_id: str
    connection_id: str
    config_digest: str
    passed: bool
    #: The machine reason of a failure (`wrong_audience`...), None when passed.
    reason: str | None
    #: What the portal shows: what the IdP sent, the mapped profile, the diagnosis.
    report: JsonObject
    created_at: datetime
