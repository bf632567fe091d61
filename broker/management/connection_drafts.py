"""Changing a connection that people log in through: every change is a draft, tested, then
switched over at once (issue 6, "Maintaining a connection").

    change(settings)         -> the draft: the proposed settings, parsed exactly as
                                `Connections.update` parses them; `config` is untouched, so
                                logins keep using the active settings
    add_certificate(pem)     -> the draft trusts the IdP's next signing certificate beside
                                the ones it trusts now (a rollover breaks nothing)
    remove_certificate(fp)   -> the draft no longer trusts one (never the last)
    change_client_secret(s)  -> the draft authenticates to the OIDC IdP with a new secret
    (a test login of the draft: the portal's POST /connections/{id}/test, draft=1)
    promote()                -> `config := draft`, `draft := None`, one compare-and-swap,
                                only after a passed test of exactly the draft
    discard()                -> the draft is gone; nothing else changes

Each is a compare-and-swap on the connection's version with its audit event in the same
unit of work (M-09): an edit made meanwhile (another tab, the management API) is refused,
never overwritten. A draft builds on the previous draft, so several changes are tested
together; its base is the active settings when there is none.

The switch-over needs a passed test of exactly the draft (`config_digest`): a draft changed
after its test is tested again, so what turns on is what was seen to work. Logins pick the
new settings up by themselves: connectors are cached by (id, version) and the version moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509

from broker.errors import ConfigError
from broker.management import scoped
from broker.management.connection_settings import (
    fetch_policy,
    parse_certificate,
    read_saml_idp,
)
from broker.management.connection_view import certificate_view
from broker.management.connections import (
    Connections,
    Saved,
    changed_settings,
    parse_settings,
    save_in,
)
from broker.management.deps import ManagementDeps, fetching_for
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.portal import ConnectionTest, config_digest
from broker.model.records import Connection, JsonObject
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.saml.config import MAX_IDP_CERTIFICATES, SamlConnectionConfig

#: How many recent tests are searched for the draft's latest one.
_RECENT_TESTS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftChange:
    """What a draft changes against the active settings, as a person reads it: setting
    names, and the certificates by fingerprint (never a secret's value)."""

    changed: tuple[str, ...]
    certificates_added: tuple[str, ...]
    certificates_removed: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftStatus:
    """A pending draft, for the page that offers to test it and switch over."""

    change: DraftChange
    #: The most recent test of exactly this draft, if any.
    latest_test: ConnectionTest | None
    #: A test of exactly this draft passed: the switch-over is allowed.
    tested: bool


class ConnectionDrafts:
    def __init__(self, deps: ManagementDeps, connections: Connections) -> None:
        self._deps = deps
        self._connections = connections

    def change(
        self,
        actor: str,
        organization_id: str,
        connection_id: str,
        settings: Mapping[str, object],
        client_secret: str | None = None,
    ) -> Saved:
        """The draft with `settings` (shaped like the API's) applied over the pending draft
        or, without one, the active settings; a null setting goes back to its default."""
        current = self._connections.get(organization_id, connection_id)
        return self._change(actor, current, settings, client_secret)

    def add_certificate(
        self, actor: str, organization_id: str, connection_id: str, certificate: str
    ) -> Saved:
        """The IdP's next signing certificate (PEM or base64 DER) trusted beside the ones
        trusted now: the IdP may sign with either until the old one is removed."""
        current = self._connections.get(organization_id, connection_id)
        trusted = _certificates(current)
        pem = parse_certificate(certificate, len(trusted))
        added = self._checked_new(trusted, [pem])
        return self._change(
            actor, current, {"certificates": [*trusted, *added]},
            certificates_added=[_fingerprint(c) for c in added],
        )  # fmt: skip

    def add_certificates_from_metadata(
        self, actor: str, organization_id: str, connection_id: str, metadata_url: str
    ) -> Saved:
        """The signing certificates the IdP's metadata lists now, added beside the ones
        trusted (an IdP in a rollover publishes both). Only the certificates: the metadata
        must describe the same IdP, and its other values are not taken from it here."""
        current = self._connections.get(organization_id, connection_id)
        trusted = _certificates(current)
        base = _base(current)
        now = self._deps.clock.now()
        policy = fetch_policy(self._deps.outbound, base, {}, now=now)
        with fetching_for(self._deps, organization_id, "/settings/metadata_url"):
            fields, _ = read_saml_idp({"metadata_url": metadata_url}, self._deps.http, policy)
        if fields["idp_entity_id"] != base.get("idp_entity_id"):
            raise InvalidInput.at(
                "/settings/metadata_url",
                f"this metadata describes another identity provider ({fields['idp_entity_id']}"
                f"), not {base.get('idp_entity_id')}",
            )
        listed = fields["idp_certificates"]
        assert isinstance(listed, list)
        known = {_fingerprint(c) for c in trusted}
        # An IdP's metadata may still list a certificate that has expired: useless, skipped.
        added = [c for c in listed if _fingerprint(c) not in known and _not_after(c) > now]
        if not added:
            raise InvalidInput.at(
                "/settings/metadata_url",
                "the metadata lists no certificate that is not trusted already",
            )
        self._checked_new(trusted, added, pointer="/settings/metadata_url")
        return self._change(
            actor, current, {"certificates": [*trusted, *added]},
            certificates_added=[_fingerprint(c) for c in added],
        )  # fmt: skip

    def remove_certificate(
        self, actor: str, organization_id: str, connection_id: str, fingerprint: str
    ) -> Saved:
        """The draft stops trusting the certificate with this SHA-256 fingerprint (as the
        page shows it, colons optional). Never the last one: the connection could then
        verify no answer at all."""
        current = self._connections.get(organization_id, connection_id)
        trusted = _certificates(current)
        wanted = _normal_fingerprint(fingerprint)
        kept = [c for c in trusted if _normal_fingerprint(_fingerprint(c)) != wanted]
        if len(kept) == len(trusted):
            raise InvalidInput.at("/settings/certificates", "no such certificate is trusted")
        if not kept:
            raise InvalidInput.at(
                "/settings/certificates",
                "this is the only certificate trusted: add the new one first, then remove this one",
            )
        removed = [_fingerprint(c) for c in trusted if c not in kept]
        return self._change(actor, current, {"certificates": kept}, certificates_removed=removed)

    def change_client_secret(
        self, actor: str, organization_id: str, connection_id: str, client_secret: str
    ) -> Saved:
        """An OIDC connection's new client secret, write-only: stored encrypted, never
        shown, and listed in events as changed without its value."""
        current = self._connections.get(organization_id, connection_id)
        if current.kind != OidcConnectionConfig.kind:
            raise InvalidInput.at("/settings/client_secret", "a SAML connection has no secret")
        if not client_secret.strip() or client_secret != client_secret.strip():
            raise InvalidInput.at(
                "/settings/client_secret", "paste the secret exactly, without spaces around it"
            )
        return self._change(actor, current, {}, client_secret)

    def discard(self, actor: str, organization_id: str, connection_id: str) -> Connection:
        """The draft is dropped; the active settings stay as they are."""
        current = self._connections.get(organization_id, connection_id)
        if current.draft is None:
            return current
        return self._connections.save(
            actor, current, replace(current, draft=None), "connection.draft_discarded",
            changed=changed_settings(current.config, current.draft),
        )  # fmt: skip

    def promote(
        self,
        actor: str,
        organization_id: str,
        connection_id: str,
        *,
        expected_version: int | None = None,
    ) -> Connection:
        """The switch-over: the draft becomes the active settings, in one unit of work that
        reads the connection, finds a passed test of exactly its draft, and saves on the
        version it read. `expected_version`: the version the person looked at (the page's),
        so a draft changed in another tab since is not switched on unseen."""
        with self._deps.store.unit_of_work() as uow:
            current = scoped.connection(uow, organization_id, connection_id)
            draft = current.draft
            if draft is None:
                raise ResourceConflict("there are no pending changes to switch over to")
            if expected_version is not None and current.version != expected_version:
                raise ResourceConflict("the changes were edited since you looked; check them again")
            if not uow.connection_tests.passed(
                organization_id, connection_id, config_digest(draft)
            ):
                raise ResourceConflict("test a login with the changed settings first; it must pass")
            promoted = replace(current, config=draft, draft=None)
            try:
                parse_settings(promoted)
            except ConfigError as exc:
                raise ResourceConflict(f"the changed settings no longer pass ({exc})") from exc
            change = describe_change(current.config, draft)
            return save_in(
                uow, self._deps, actor, current, promoted, "connection.updated",
                from_draft=True, changed=list(change.changed),
                certificates_added=list(change.certificates_added) or None,
                certificates_removed=list(change.certificates_removed) or None,
            )  # fmt: skip

    def status(self, organization_id: str, connection: Connection) -> DraftStatus | None:
        """None without a draft."""
        if connection.draft is None:
            return None
        digest = config_digest(connection.draft)
        with self._deps.store.unit_of_work() as uow:
            recent = uow.connection_tests.latest(
                organization_id, connection.id, limit=_RECENT_TESTS
            )
            tested = uow.connection_tests.passed(organization_id, connection.id, digest)
        latest = next((t for t in recent if t.config_digest == digest), None)
        return DraftStatus(
            change=describe_change(connection.config, connection.draft),
            latest_test=latest,
            tested=tested,
        )

    # -- the steps ----------------------------------------------------------------------

    def _change(
        self,
        actor: str,
        current: Connection,
        settings: Mapping[str, object],
        client_secret: str | None = None,
        **detail: object,
    ) -> Saved:
        base = _base(current)
        draft, notes = self._connections.proposed(current, base, settings, client_secret)
        if draft == base:
            return Saved(current, notes)
        # Back to exactly the active settings (a certificate added, then removed): nothing
        # is pending any more.
        pending = None if draft == current.config else draft
        kind = "connection.draft_saved" if pending is not None else "connection.draft_discarded"
        saved = self._connections.save(
            actor, current, replace(current, draft=pending), kind,
            changed=changed_settings(base, draft), **detail,
        )  # fmt: skip
        return Saved(saved, notes)

    def _checked_new(
        self, trusted: list[str], added: list[str], *, pointer: str | None = None
    ) -> list[str]:
        """New certificates: not trusted already, not expired, and room for them."""
        now = self._deps.clock.now()
        known = {_fingerprint(c) for c in trusted}
        for index, pem in enumerate(added, start=len(trusted)):
            where = pointer or f"/settings/certificates/{index}"
            if _fingerprint(pem) in known:
                raise InvalidInput.at(where, "this certificate is trusted already")
            expiry = _not_after(pem)
            if expiry <= now:
                raise InvalidInput.at(where, f"this certificate expired on {expiry:%Y-%m-%d}")
        if len(trusted) + len(added) > MAX_IDP_CERTIFICATES:
            raise InvalidInput.at(
                pointer or "/settings/certificates",
                f"at most {MAX_IDP_CERTIFICATES} certificates are trusted at once: remove one "
                "that the IdP no longer uses first",
            )
        return added


def describe_change(active: Mapping[str, object], draft: Mapping[str, object]) -> DraftChange:
    before = certificate_list(active)
    after = certificate_list(draft)
    old = {_fingerprint(c) for c in before}
    new = {_fingerprint(c) for c in after}
    return DraftChange(
        changed=tuple(changed_settings(active, draft)),
        certificates_added=tuple(_fingerprint(c) for c in after if _fingerprint(c) not in old),
        certificates_removed=tuple(_fingerprint(c) for c in before if _fingerprint(c) not in new),
    )


def _base(connection: Connection) -> JsonObject:
    """What a change builds on: the pending draft, else the active settings."""
    return connection.draft if connection.draft is not None else connection.config


def _certificates(connection: Connection) -> list[str]:
    if connection.kind != SamlConnectionConfig.kind:
        raise InvalidInput.at(
            "/settings/certificates",
            "an OpenID Connect connection trusts the keys its IdP publishes; it has no "
            "certificates to manage here",
        )
    return certificate_list(_base(connection))


def certificate_list(config: Mapping[str, object]) -> list[str]:
    """The IdP signing certificates (PEM) a stored SAML config trusts; none for OIDC."""
    found = config.get("idp_certificates")
    return [c for c in found if isinstance(c, str)] if isinstance(found, list) else []


def _fingerprint(pem: str) -> str:
    return certificate_view(pem).sha256_fingerprint


def _normal_fingerprint(value: str) -> str:
    return "".join(ch for ch in value.upper() if ch in "0123456789ABCDEF")


def _not_after(pem: str) -> datetime:
    return x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc


__all__ = [
    "ConnectionDrafts", "DraftChange", "DraftStatus", "certificate_list", "describe_change",
]  # fmt: skip
