"""The SAML metadata refresh: each connection configured from a metadata URL re-reads it.

An IdP that rolls its signing certificate over publishes the next one in its metadata
first; a connection that read the metadata once, at setup, breaks on the day the IdP
switches (the "2 a.m. rotation" of DESIGN.md). So, for each SAML connection whose config
keeps a `metadata_url`, when it is due (at least daily, sooner if the metadata's
`cacheDuration` says so, every run while a rollover is pending):

    fetch through the outbound guard   (the URL is customer-controlled: its deadline, this
      in the connection's bulkhead      connection's CA bundle and no other's, 1 MiB)
    parse with the setup's parser      (`idp_metadata.parse_idp_metadata`, never another)
    past its validUntil                -> refused, like a failed fetch
    failed fetch or parse              -> connection.metadata_refresh_failed, once per
                                          streak; nothing changes; retried within the hour
    a new signing certificate          -> trusted beside the others at once:
                                          connection.certificate_added
    a certificate no longer listed     -> dropped once a login verified under a listed one
                                          (`saml_certificate_use`): connection.certificate_removed
    entity ID / SSO URL / binding      -> connection.metadata_changed (what differs), once per
      differ                              difference; not applied: the admin decides

A pending draft of the connection (an IT admin's edit in the portal) takes the same trust
change (`_refreshed_draft`), so publishing it later does not revert the refresh.

A change is saved as a compare-and-swap on the version read, with its events, in one unit
of work; the connector cache keys on the version, so the next login uses it. An edit made
meanwhile wins: this run saves nothing and the connection is due again at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import httpx

from broker.clock import Clock
from broker.errors import ConfigError
from broker.jobs.saml_metadata_plan import MetadataPlan, plan_refresh
from broker.jobs.scheduler import Stop
from broker.management.connection_drafts import certificate_list
from broker.management.connection_view import certificate_view
from broker.model.records import AuditEvent, Connection, JsonObject
from broker.store import Conflict, NotFound, Store, UnitOfWork
from broker.store.protocols_saml_metadata import MetadataRefresh
from broker.upstream import outbound
from broker.upstream.base import UpstreamUnavailable
from broker.upstream.bulkhead import Bulkheads
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.saml.config import MAX_IDP_CERTIFICATES, SamlConnectionConfig
from broker.upstream.saml.idp_metadata import (
    MAX_METADATA_BYTES,
    IdpMetadata,
    parse_idp_metadata,
)

log = logging.getLogger(__name__)

NAME = "saml_metadata_refresh"
ACTOR = f"job:{NAME}"
#: Metadata is re-read at least this often ("at least daily", issue 16)...
MAX_AGE = timedelta(days=1)
#: ...and at most this often, whatever its cacheDuration says (a hostile PT1S would
#: otherwise make every run fetch); also how soon a pending rollover is looked at again.
MIN_AGE = timedelta(minutes=10)
#: After a failed fetch or parse.
RETRY_AFTER = timedelta(hours=1)


class MetadataRefreshFailed(Exception):
    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason  # fetch_failed | invalid | expired
        self.problem = problem[:500]


class SamlMetadataRefresh:
    def __init__(
        self, *, store: Store, clock: Clock, http: httpx.Client, policy: OutboundPolicy,
        bulkheads: Bulkheads,
    ) -> None:  # fmt: skip
        self._store = store
        self._clock = clock
        self._http = http
        self._policy = policy
        self._bulkheads = bulkheads

    def run(self, stop: Stop) -> dict[str, int]:
        """Refresh every connection that is due; how many ended in each outcome."""
        outcomes: Counter[str] = Counter()
        for connection in self._due(self._clock.now()):
            if stop():
                break
            outcomes[self.refresh(connection)] += 1
        return dict(outcomes)

    def refresh(self, connection: Connection) -> str:
        """`unchanged`, `changed`, `failed`, `busy` or `conflict`."""
        config = SamlConnectionConfig.parse(connection.config)
        assert config.metadata_url is not None  # _due
        try:
            metadata = self._read(connection.id, config)
        except UpstreamUnavailable:
            log.warning("metadata refresh of %s skipped: its IdP is busy", connection.id)
            return "busy"
        except MetadataRefreshFailed as exc:
            self._failed(connection, config.metadata_url, exc)
            return "failed"
        now = self._clock.now()
        try:
            with self._store.unit_of_work() as uow:
                return self._apply(uow, connection, metadata, now)
        except (Conflict, NotFound):
            # Edited or deleted since it was read: due again at once, on what it is now.
            return "conflict"

    # -- the steps ----------------------------------------------------------------------

    def _due(self, now: datetime) -> list[Connection]:
        with self._store.unit_of_work() as uow:
            organizations = [o.id for o in uow.organizations.list()]
            due = []
            for organization_id in organizations:
                for connection in uow.connections.for_organization(organization_id):
                    if connection.kind != SamlConnectionConfig.kind:
                        continue
                    if not connection.config.get("metadata_url"):
                        continue
                    state = uow.saml_metadata_refreshes.get(connection.id)
                    if state is None or state.next_fetch_at <= now:
                        due.append(connection)
        return [c for c in due if _parses(c)]

    def _read(self, connection_id: str, config: SamlConnectionConfig) -> IdpMetadata:
        url = config.metadata_url
        assert url is not None
        policy = self._policy.trusting(config.ca_bundle)  # this connection's CAs alone
        try:
            with self._bulkheads.slot(connection_id, breaker=False):
                document = outbound.get(
                    self._http, url, policy=policy, max_bytes=MAX_METADATA_BYTES
                )
        except outbound.OutboundError as exc:
            raise MetadataRefreshFailed("fetch_failed", exc.detail) from exc
        try:
            metadata = parse_idp_metadata(document)
        except ConfigError as exc:
            raise MetadataRefreshFailed("invalid", exc.message) from exc
        now = self._clock.now()
        if metadata.valid_until is not None and metadata.valid_until <= now:
            raise MetadataRefreshFailed(
                "expired", f"the metadata was valid until {metadata.valid_until.isoformat()}"
            )
        return metadata

    def _apply(
        self, uow: UnitOfWork, read: Connection, metadata: IdpMetadata, now: datetime
    ) -> str:
        current = uow.connections.get(read.id)
        config = SamlConnectionConfig.parse(current.config)
        verified = uow.saml_certificate_use.last_verified(current.id)
        plan = plan_refresh(config, metadata, now=now, verified=verified)
        state = uow.saml_metadata_refreshes.get(current.id)
        outcome = "unchanged"
        version = current.version
        if plan.changes_trust:
            updated = SamlConnectionConfig.parse(
                {**current.config, "idp_certificates": list(plan.certificates)}
            ).to_json()
            draft = _refreshed_draft(current.draft, current.config, updated, plan)
            saved = uow.connections.save(
                replace(current, config=updated, draft=draft), expected_version=current.version
            )
            version = saved.version
            for fingerprint in _fingerprints(plan.removed):
                uow.saml_certificate_use.forget(current.id, fingerprint)
            self._record_trust(uow, current, plan, version, now, draft != current.draft)
            outcome = "changed"
        reported = _digest(plan) if plan.differences else None
        if reported is not None and reported != (state.reported_change if state else None):
            self._event(uow, "connection.metadata_changed", current, now, detail={
                "metadata_url": config.metadata_url, "differences": dict(plan.differences),
            })  # fmt: skip
        uow.saml_metadata_refreshes.put(
            MetadataRefresh(
                connection_id=current.id,
                next_fetch_at=now + _next_age(metadata, plan, now),
                failing_since=None,
                reported_change=reported,
            )
        )
        return outcome

    def _record_trust(
        self, uow: UnitOfWork, connection: Connection, plan: MetadataPlan, version: int,
        now: datetime, draft_updated: bool,
    ) -> None:  # fmt: skip
        for pem in plan.added:
            self._event(uow, "connection.certificate_added", connection, now,
                        detail={**_certificate(pem), "version": version,
                                "metadata_url": connection.config.get("metadata_url"),
                                "draft_updated": draft_updated})  # fmt: skip
        for pem in plan.removed:
            self._event(uow, "connection.certificate_removed", connection, now,
                        detail={**_certificate(pem), "version": version,
                                "verified_with": list(plan.verified_with),
                                "draft_updated": draft_updated})  # fmt: skip

    def _failed(self, connection: Connection, url: str, failure: MetadataRefreshFailed) -> None:
        """One event per failure streak: the first failure tells, the next ones only wait."""
        now = self._clock.now()
        log.warning("metadata refresh of %s failed: %s", connection.id, failure.problem)
        try:
            with self._store.unit_of_work() as uow:
                state = uow.saml_metadata_refreshes.get(connection.id)
                since = state.failing_since if state is not None else None
                if since is None:
                    detail: dict[str, object] = {"metadata_url": url, "problem": failure.problem}
                    self._event(uow, "connection.metadata_refresh_failed", connection, now,
                                reason=failure.reason, detail=detail)  # fmt: skip
                uow.saml_metadata_refreshes.put(
                    MetadataRefresh(
                        connection_id=connection.id,
                        next_fetch_at=now + RETRY_AFTER,
                        failing_since=since or now,
                        reported_change=state.reported_change if state else None,
                    )
                )
        except NotFound:
            return  # deleted meanwhile

    @staticmethod
    def _event(
        uow: UnitOfWork, kind: str, connection: Connection, now: datetime, *,
        detail: dict[str, object], reason: str | None = None,
    ) -> None:  # fmt: skip
        uow.audit.record(
            AuditEvent(
                at=now,
                kind=kind,
                actor=ACTOR,
                reason=reason,
                organization_id=connection.organization_id,
                connection_id=connection.id,
                detail=detail,
            )
        )


def _refreshed_draft(
    draft: JsonObject | None, active: JsonObject, updated: JsonObject, plan: MetadataPlan
) -> JsonObject | None:
    """A pending draft (an admin's edit in the portal) takes the same trust change as the
    active settings: the added certificates beside its own, the removed ones dropped.
    Otherwise publishing it later would put back the certificates the refresh replaced.
    Left as it is when it describes another IdP (its entity ID changed: the refresh read
    the active IdP's metadata), when the change would leave it no certificate or too
    many, or when it would no longer parse. A draft whose only difference was trust the
    refresh now gives the active settings is no longer pending (None). The draft's digest
    moves, so a test of it passed before counts no more: the switch-over needs a test of
    what will turn on."""
    if draft is None or draft.get("idp_entity_id") != active.get("idp_entity_id"):
        return draft
    listed = certificate_list(draft)
    removed = set(_fingerprints(plan.removed))
    kept = [pem for pem in listed if certificate_view(pem).sha256_fingerprint not in removed]
    known = {certificate_view(pem).sha256_fingerprint for pem in kept}
    added = [pem for pem in plan.added if certificate_view(pem).sha256_fingerprint not in known]
    certificates = kept + added
    if not certificates or len(certificates) > MAX_IDP_CERTIFICATES:
        return draft
    try:
        refreshed = SamlConnectionConfig.parse(
            {**draft, "idp_certificates": certificates}
        ).to_json()
    except ConfigError:
        return draft
    if _without_certificates(refreshed) == _without_certificates(updated) and sorted(
        _fingerprints(tuple(certificates))
    ) == sorted(_fingerprints(tuple(certificate_list(updated)))):
        return None
    return refreshed


def _without_certificates(config: JsonObject) -> dict[str, object]:
    return {key: value for key, value in config.items() if key != "idp_certificates"}


def _next_age(metadata: IdpMetadata, plan: MetadataPlan, now: datetime) -> timedelta:
    """Within the metadata's cacheDuration and before its validUntil, at most a day, at
    least MIN_AGE; MIN_AGE while a rollover waits for a login under a listed certificate."""
    cache = metadata.cache_duration
    age = MAX_AGE if cache is None else min(MAX_AGE, cache)  # PT0S is a duration too
    if metadata.valid_until is not None:
        age = min(age, metadata.valid_until - now)
    if plan.pending:
        age = MIN_AGE
    return max(age, MIN_AGE)


def _digest(plan: MetadataPlan) -> str:
    text = json.dumps(plan.differences, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _certificate(pem: str) -> dict[str, object]:
    view = certificate_view(pem)
    return {
        "sha256_fingerprint": view.sha256_fingerprint,
        "subject": view.subject,
        "not_after": view.not_after.isoformat(),
    }


def _fingerprints(pems: tuple[str, ...]) -> list[str]:
    return [certificate_view(pem).sha256_fingerprint for pem in pems]


def _parses(connection: Connection) -> bool:
    """A stored config that no longer parses (a rule tightened since) is not refreshed:
    the admin has to fix it first, and the portal says so."""
    try:
        SamlConnectionConfig.parse(connection.config)
    except ConfigError:
        return False
    return True
