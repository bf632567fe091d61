"""What the overview of a connection shows, gathered without HTTP: the IdP it trusts, its
certificates and how long they last, the values the IdP admin pastes, recent sign-ins, and
the pending change with its latest test.

Everything shown of the settings comes from `connection_view.describe` (built field by
field, no secret and no private key: M-05), so this page shows nothing the management API
would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from admin_portal.maintain.outcomes import LoginOutcome, recent_logins
from broker.management import Management
from broker.management.connection_drafts import DraftStatus, certificate_list
from broker.management.connection_health import Unreachable
from broker.management.connection_view import (
    EXPIRY_NOTICE,
    CertificateView,
    ConnectionView,
    OidcView,
    SamlView,
    certificate_view,
)
from broker.model.records import Connection
from broker.model.vendors import product_name

#: Setting names as the change summary says them (others: the name, spaced).
SETTING_NAMES = {
    "certificates": "Trusted signing certificates",
    "client_secret": "Client secret",
    "idp_entity_id": "IdP entity ID",
    "sso_url": "SSO URL",
    "sso_binding": "SSO binding",
    "issuer": "Issuer",
    "client_id": "Client ID",
    "attribute_mapping": "Attribute mapping",
    "attribute_profile": "Attribute names",
    "required_claims": "Required attributes",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """One trusted certificate and where it stands: `ok`, `expiring` (within the notice
    period) or `expired`. The page says the state in words as well as in colour."""

    view: CertificateView
    state: str
    days_left: int

    @property
    def fingerprint(self) -> str:
        return self.view.sha256_fingerprint


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingChange:
    status: DraftStatus
    #: Setting names, as a person reads them.
    changed: tuple[str, ...]
    added: tuple[Certificate, ...]
    removed: tuple[Certificate, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    connection: Connection
    view: ConnectionView
    saml: SamlView | None
    oidc: OidcView | None
    product: str | None
    certificates: tuple[Certificate, ...]
    logins: list[LoginOutcome]
    pending: PendingChange | None
    #: Set while the connection's circuit is open: sign-ins are refused at once.
    unreachable: Unreachable | None
    #: The newest test login of any settings: the page follows the next (trial_status.py).
    latest_test_id: str | None


def overview(management: Management, connection: Connection, *, now: datetime) -> Overview:
    view = management.connections.describe(connection)
    settings = view.settings
    saml = settings if isinstance(settings, SamlView) else None
    oidc = settings if isinstance(settings, OidcView) else None
    strategy = settings.strategy if settings is not None else None
    return Overview(
        connection=connection,
        view=view,
        saml=saml,
        oidc=oidc,
        # A generic tile is no product: the protocol row says what it is.
        product=product_name(strategy),
        certificates=tuple(
            certificate(c, now) for c in (saml.certificates if saml is not None else ())
        ),
        logins=recent_logins(management, connection.organization_id, connection.id),
        pending=_pending(management, connection, now),
        unreachable=management.connection_health.unreachable(
            connection.organization_id, connection.id
        ),
        latest_test_id=next(
            (t.id for t in management.connection_tests.latest(
                connection.organization_id, connection.id, limit=1
            )),
            None,
        ),
    )  # fmt: skip


def certificate(view: CertificateView, now: datetime) -> Certificate:
    left = view.not_after - now
    if left.total_seconds() <= 0:
        state = "expired"
    elif left <= EXPIRY_NOTICE:
        state = "expiring"
    else:
        state = "ok"
    return Certificate(view=view, state=state, days_left=max(left.days, 0))


def trusted_after_switch_over(connection: Connection, now: datetime) -> tuple[Certificate, ...]:
    """The certificates the connection will trust once its pending change is switched on
    (the active ones without a draft): the list the certificates page edits."""
    config = connection.draft if connection.draft is not None else connection.config
    return tuple(certificate(certificate_view(pem), now) for pem in certificate_list(config))


def _pending(management: Management, connection: Connection, now: datetime) -> PendingChange | None:
    status = management.connection_drafts.status(connection.organization_id, connection)
    if status is None or connection.draft is None:
        return None
    draft = {c.fingerprint: c for c in trusted_after_switch_over(connection, now)}
    active = {
        c.fingerprint: c
        for c in (
            certificate(certificate_view(p), now) for p in certificate_list(connection.config)
        )
    }
    change = status.change
    # Certificates added or removed are listed one by one instead.
    listed = {"certificates"} if change.certificates_added or change.certificates_removed else set()
    return PendingChange(
        status=status,
        changed=tuple(_label(n) for n in change.changed if n not in listed),
        added=tuple(draft[f] for f in change.certificates_added if f in draft),
        removed=tuple(active[f] for f in change.certificates_removed if f in active),
    )


def _label(name: str) -> str:
    return SETTING_NAMES.get(name, name.replace("_", " ").capitalize())
