"""The persistence seam: narrow repositories grouped by a unit of work.

Each repository takes and returns domain values (never rows). The contracts that matter for
security are stated here and proven by one conformance suite on every backend
(tests/broker/store/test_store.py):

- `FlowRepo.consume` and `CodeRepo.consume` are atomic: of any number of concurrent callers,
  in threads or in separate processes, exactly one gets the value.
- Expiry is decided against the `now` the caller passes (from the injected Clock), never the
  database's own clock, so every process and test agrees on what "expired" means.
- A unit of work commits when its block ends normally and rolls back on an exception.
- Every table whose rows expire has a purge (`purge_expired`, `purge_ended`,
  `purge_before`): it deletes at most `limit` rows that are dead at the `now` (or before
  the cut-off) the caller passes, and returns how many it deleted. The caller runs each
  batch in a unit of work of its own and repeats until a batch comes back short
  (`broker.store.purge`), so no transaction holds many locks for long. Purges are safe in
  parallel: every broker instance runs them, and concurrent purgers delete disjoint rows
  (each row is deleted, and counted, once) without waiting on each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.model.records import (
    AuditEvent,
    Connection,
    Domain,
    Identity,
    Organization,
    SigningKeyRecord,
)
from broker.store.protocols_directories import (
    DirectoryGroupRepo,
    DirectoryRepo,
    DirectoryUserRepo,
)
from broker.store.protocols_jobs import CertificateNoticeRepo, DomainRecheckRepo, JobRunRepo
from broker.store.protocols_management import (
    IdempotencyRepo,
    ManagementClientRepo,
    PortalLinkRepo,
    ProfileRepo,
    RateLimitRepo,
)
from broker.store.protocols_oauth import AccessTokenRepo, ClientRepo, CodeRepo, FlowRepo
from broker.store.protocols_portal import ConnectionTestRepo, PortalSessionRepo
from broker.store.protocols_saml_metadata import SamlCertificateUseRepo, SamlMetadataRefreshRepo
from broker.store.protocols_webhooks import WebhookDeliveryRepo, WebhookEndpointRepo


class StoreError(Exception):
    """Base of the store's outcomes."""


class NotFound(StoreError):
    """Absent, expired or already consumed: callers need not (and must not) tell which."""


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """A compare-and-swap lost: the row changed since it was read."""


class StoreUnavailable(StoreError):
    """The database cannot serve this code at all. The message is one line an operator can
    act on; it names the database with its password masked."""


class DatabaseUnreachable(StoreUnavailable):
    """Connecting failed (refused, unknown host or database, credentials, timeout), or the
    database refused the trivial read that checks it."""


class SchemaNotCurrent(StoreUnavailable):
    """The database answers, but its schema is not the one this code was written for: no
    Gatehouse schema at all (`revisions` empty), an older one, or one this code does not
    know (migrated by a newer Gatehouse)."""

    def __init__(self, where: str, *, revisions: tuple[str, ...], head: str, known: bool) -> None:
        self.revisions = revisions
        self.head = head
        self.known = known
        verb = "is" if revisions else "has"
        super().__init__(f"the database at {where} {verb} {self.summary}")

    @property
    def summary(self) -> str:
        """What is wrong and what to run, without naming the database (for /readyz)."""
        if not self.revisions:
            return "no Gatehouse schema: run gatehouse migrate"
        at = ", ".join(self.revisions)
        if self.known:
            return f"at revision {at}, head is {self.head}: run gatehouse migrate"
        return (
            f"at revision {at}, unknown to this version of Gatehouse (head is {self.head}): "
            "run the version that migrated it"
        )


PageKey = tuple[datetime, str]


class OrganizationRepo(Protocol):
    def add(self, organization: Organization) -> None:
        """AlreadyExists if the id, or a non-null external_id, is taken."""
        ...

    def get(self, organization_id: str) -> Organization: ...

    def get_by_external_id(self, external_id: str) -> Organization:
        """The organization the app team knows as `external_id`; NotFound if none."""
        ...

    def list(self) -> Sequence[Organization]: ...

    def page(self, *, after: PageKey | None, limit: int) -> Sequence[Organization]:
        """Oldest first, by (created_at, id): a page after a key never changes when
        organizations are added meanwhile (they sort after every existing one)."""
        ...

    def save(self, organization: Organization) -> None:
        """Update name and external_id; NotFound if absent, AlreadyExists if the external
        id is another organization's."""
        ...

    def delete(self, organization_id: str) -> None:
        """Remove it with its domains, connections, identities and portal links (the
        database cascades); NotFound if absent."""
        ...


class DomainRepo(Protocol):
    def add(self, domain: Domain) -> None:
        """AlreadyExists if this organization already claims the name (or, for a domain
        added verified, if another organization has it verified)."""
        ...

    def get(self, organization_id: str, name: str) -> Domain:
        """This organization's claim on `name`; NotFound if it has none."""
        ...

    def find_verified(self, name: str) -> Domain:
        """The claim on `name` that is verified, whichever organization holds it; NotFound
        if none is. Routing and login policy look domains up only this way."""
        ...

    def save(self, domain: Domain) -> None:
        """Update verification state and token of (organization, name); NotFound if
        absent, AlreadyExists if another organization has the name verified."""
        ...

    def delete(self, organization_id: str, name: str) -> None:
        """NotFound if the organization has no such claim."""
        ...

    def for_organization(self, organization_id: str) -> Sequence[Domain]: ...

    def list(self, *, organization_id: str | None = None) -> Sequence[Domain]:
        """Every claim, or one organization's, by name."""
        ...

    def page(self, organization_id: str, *, after: str | None, limit: int) -> Sequence[Domain]:
        """One organization's claims by name, after `after`."""
        ...


class ConnectionRepo(Protocol):
    def add(self, connection: Connection) -> None: ...

    def get(self, connection_id: str) -> Connection: ...

    def for_organization(self, organization_id: str) -> Sequence[Connection]: ...

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[Connection]: ...

    def save(self, connection: Connection, *, expected_version: int) -> Connection:
        """Store `connection` with version expected_version + 1; Conflict if stale."""
        ...

    def delete(self, organization_id: str, connection_id: str) -> None:
        """Remove it and its identities; NotFound if it is not the organization's."""
        ...


class IdentityRepo(Protocol):
    def record_login(
        self,
        *,
        organization_id: str,
        connection_id: str,
        idp_subject: str,
        email: str | None,
        new_id: str,
        now: datetime,
    ) -> Identity:
        """Find the identity for (connection, idp_subject) or create it with `new_id`;
        update email and last login. Concurrent first logins yield one identity."""
        ...

    def get(self, organization_id: str, identity_id: str) -> Identity:
        """NotFound if absent or another organization's."""
        ...

    def page(
        self, organization_id: str, *, after: PageKey | None, limit: int
    ) -> Sequence[Identity]: ...

    def delete(self, organization_id: str, identity_id: str) -> None:
        """NotFound if absent or another organization's."""
        ...


class KeyRepo(Protocol):
    """At most one key is CURRENT and one NEXT: a write that would make a second one fails
    (`add`: AlreadyExists, `transition`: Conflict), so racing processes cannot both create
    one. RETIRED keys are any number."""

    def list(self) -> Sequence[SigningKeyRecord]: ...

    def add(self, key: SigningKeyRecord) -> None:
        """AlreadyExists if the kid is taken, or a second CURRENT or NEXT key."""
        ...

    def transition(self, kid: str, *, from_state: str, to: SigningKeyRecord) -> None:
        """Replace key `kid` with `to` only if it is still in `from_state`; Conflict if not.
        Rotation is a sequence of these inside one unit of work, so two rotating processes
        cannot both win."""
        ...

    def delete(self, kid: str) -> None: ...


class AuditRepo(Protocol):
    def record(self, event: AuditEvent) -> None:
        """Append an event (already bounded: `AuditEvent` caps what it holds). Events are
        never updated, and deleted only by the retention purge (`purge_before`)."""
        ...

    def list(
        self, *, limit: int = 100, organization_id: str | None = None, kind: str | None = None
    ) -> Sequence[AuditEvent]:
        """The latest `limit` events, newest first, optionally of one organization or kind."""
        ...

    def page(self, query: EventQuery) -> Sequence[AuditEvent]:
        """Newest first, by (at, id) descending, starting after `query.before`: a page
        never changes when events are added meanwhile (they sort before every existing
        one). With `query.oldest_first`, ascending from after that key instead."""
        ...

    def purge_before(self, before: datetime, *, limit: int) -> int:
        """Delete at most `limit` events that happened at or before `before` (the caller's
        `now` minus the audit retention)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class EventQuery:
    limit: int
    organization_id: str | None = None
    #: One connection's events (its logins, its changes).
    connection_id: str | None = None
    kind: str | None = None
    #: A kind prefix (`login.`) instead of one kind.
    kind_prefix: str | None = None
    #: The events of one request (the reference a person was shown).
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: The key the page continues from: before it newest first, after it oldest first.
    before: PageKey | None = None
    #: Ascending (at, id): an export, read in the order things happened.
    oldest_first: bool = False


class ReplayRepo(Protocol):
    """Message ids already accepted (SAML assertion IDs), shared by every broker process
    on the database: a replayed assertion is refused whichever process receives it."""

    def remember(self, scope: str, message_id: str, *, expires_at: datetime, now: datetime) -> bool:
        """True the first time (scope, message_id) is seen; False while an earlier entry is
        live (expires_at > now). An expired entry is replaced. Of concurrent callers,
        exactly one gets True; a False leaves the unit of work usable. `expires_at` should
        be when the message stops being valid (SAML NotOnOrAfter plus allowed skew): the
        caller's validity check refuses it after that, so the cache need not remember it."""
        ...

    def purge_expired(self, *, now: datetime, limit: int) -> int:
        """Delete at most `limit` entries that expired at or before `now` (`remember`
        would replace them anyway)."""
        ...


class UnitOfWork(Protocol):
    """The repositories of one transaction. Read-only members, so an implementation may
    expose its concrete repository types."""

    @property
    def clients(self) -> ClientRepo: ...

    @property
    def flows(self) -> FlowRepo: ...

    @property
    def codes(self) -> CodeRepo: ...

    @property
    def access_tokens(self) -> AccessTokenRepo: ...

    @property
    def organizations(self) -> OrganizationRepo: ...

    @property
    def domains(self) -> DomainRepo: ...

    @property
    def connections(self) -> ConnectionRepo: ...

    @property
    def identities(self) -> IdentityRepo: ...

    @property
    def keys(self) -> KeyRepo: ...

    @property
    def audit(self) -> AuditRepo: ...

    @property
    def replays(self) -> ReplayRepo: ...

    @property
    def management_clients(self) -> ManagementClientRepo: ...

    @property
    def profiles(self) -> ProfileRepo: ...

    @property
    def portal_links(self) -> PortalLinkRepo: ...

    @property
    def idempotency(self) -> IdempotencyRepo: ...

    @property
    def rate_limits(self) -> RateLimitRepo: ...

    @property
    def portal_sessions(self) -> PortalSessionRepo: ...

    @property
    def connection_tests(self) -> ConnectionTestRepo: ...

    @property
    def webhook_endpoints(self) -> WebhookEndpointRepo: ...

    @property
    def webhook_deliveries(self) -> WebhookDeliveryRepo: ...

    @property
    def job_runs(self) -> JobRunRepo: ...

    @property
    def domain_rechecks(self) -> DomainRecheckRepo: ...

    @property
    def certificate_notices(self) -> CertificateNoticeRepo: ...

    @property
    def saml_certificate_use(self) -> SamlCertificateUseRepo: ...

    @property
    def saml_metadata_refreshes(self) -> SamlMetadataRefreshRepo: ...

    @property
    def directories(self) -> DirectoryRepo: ...

    @property
    def directory_users(self) -> DirectoryUserRepo: ...

    @property
    def directory_groups(self) -> DirectoryGroupRepo: ...

    def commit(self) -> None:
        """Commit now and keep going (for a write that must survive a later error)."""
        ...


class Store(Protocol):
    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A transaction: committed when the block exits normally, rolled back on error."""
        ...

    def check(self) -> None:
        """Raise `DatabaseUnreachable` or `SchemaNotCurrent` unless the database answers
        a trivial read within a short timeout and its schema is the one this code needs.
        For start-up (before anything else touches a table) and readiness probes."""
        ...
