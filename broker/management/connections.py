"""Connections: an organization's upstream IdP configurations, created and changed only
here. The management API, the CLI, the demo seed and (next) the portal all call these use
cases, so keys are generated, secrets encrypted, metadata and discovery fetched through the
outbound guard, and settings parsed by the connector the same way whatever the door.

`settings` is a mapping shaped like the API's `settings` object (connection_settings.py
says which names each kind takes); secrets travel apart from it and are never returned.

Network reads (IdP metadata, the discovery document) happen outside any transaction; the
write that follows is a compare-and-swap on the version that was read, so an edit made
meanwhile is refused (409), never overwritten. Every change records its audit event in its
own unit of work (M-09).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from broker.errors import ConfigError
from broker.management import scoped
from broker.management.connection_settings import (
    MAX_NAME,
    OIDC_SETTINGS,
    SAML_IDP_VALUES,
    SAML_OPTIONS,
    SAML_SOURCES,
    check_ca_bundle,
    check_name,
    check_oidc_urls,
    check_sso_url,
    fetch_policy,
    field_errors,
    first_values_at,
    oidc_config,
    read_saml_idp,
    refuse_unknown,
    require_saml_idp,
    saml_config,
)
from broker.management.connection_view import ConnectionView, LastTest, describe
from broker.management.deps import ManagementDeps, fetching_for, record
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.opaque import new_id
from broker.model.records import Connection
from broker.store import Conflict, NotFound, UnitOfWork
from broker.store.protocols import PageKey
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.setup import check_provider
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.setup import new_sp_key_pair

SAML_SETTINGS = SAML_SOURCES + SAML_IDP_VALUES + SAML_OPTIONS
#: Stored config names -> the settings names an audit event lists as changed.
_CHANGED_NAME = {"idp_certificates": "certificates", "client_secret_encrypted": "client_secret"}


@dataclass(frozen=True, slots=True)
class Saved:
    """A connection as a change left it, with what the change noticed (an IdP certificate's
    expiry in its metadata, an auth method its discovery document does not list)."""

    connection: Connection
    warnings: tuple[str, ...] = ()


class Connections:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create_saml(
        self,
        actor: str,
        organization_id: str,
        settings: Mapping[str, object],
        *,
        name: str | None = None,
        active: bool = True,
    ) -> Saved:
        """From `metadata_url` (fetched through the outbound guard), `metadata_xml`, or
        `idp_entity_id` + `sso_url` + `certificates`; the SP key pairs are generated here.
        `active`: the API and the CLI pass the caller's choice (inactive unless asked)."""
        refuse_unknown(settings, SAML_SETTINGS)
        chosen = check_name(name) if name is not None else None
        self._organization(organization_id)
        now = self._deps.clock.now()
        policy = fetch_policy(self._deps.outbound, {}, settings, now=now)
        with fetching_for(self._deps, organization_id, "/settings/metadata_url"):
            fields, renamed = read_saml_idp(
                settings, self._deps.http, policy, refuse_expired_at=now
            )
        require_saml_idp(fields)
        check_sso_url(fields, renamed, production=self._deps.production)
        connection_id = new_id("con")
        raw = {
            **{k: v for k, v in settings.items() if k in SAML_OPTIONS and v is not None},
            **fields,
            "sp_signing": self._sp_key_pair(connection_id, "signing"),
            "sp_encryption": self._sp_key_pair(connection_id, "encryption"),
        }
        config = saml_config(raw, renamed)
        default_name = f"SAML: {config['idp_entity_id']}"[:MAX_NAME]
        connection = Connection(
            id=connection_id,
            organization_id=organization_id,
            kind=SamlConnectionConfig.kind,
            name=chosen or check_name(default_name),
            config=config,
            active=active,
            created_at=now,
        )
        self._add(actor, connection)
        return Saved(connection)

    def create_oidc(
        self,
        actor: str,
        organization_id: str,
        settings: Mapping[str, object],
        *,
        client_secret: str | None = None,
        name: str | None = None,
        active: bool = True,
    ) -> Saved:
        """The IdP's discovery document is fetched and checked before anything is stored
        (R-05), unless endpoints are given by hand; `private_key_jwt` gets a generated key."""
        refuse_unknown(settings, OIDC_SETTINGS)
        chosen = check_name(name) if name is not None else None
        self._organization(organization_id)
        check_ca_bundle(settings, now=self._deps.clock.now())
        connection_id = new_id("con")
        given = {k: v for k, v in settings.items() if v is not None}
        config = oidc_config(
            {}, given, client_secret=client_secret, box=self._deps.secrets,
            connection_id=connection_id,
        )  # fmt: skip
        notes = self._check_provider(organization_id, config)
        connection = Connection(
            id=connection_id,
            organization_id=organization_id,
            kind=OidcConnectionConfig.kind,
            name=chosen or check_name(f"OIDC: {config['issuer']}"[:MAX_NAME]),
            config=config,
            active=active,
            created_at=self._deps.clock.now(),
        )
        self._add(actor, connection)
        return Saved(connection, notes)

    def get(self, organization_id: str, connection_id: str) -> Connection:
        with self._deps.store.unit_of_work() as uow:
            return scoped.connection(uow, organization_id, connection_id)

    def page(self, organization_id: str, *, after: PageKey | None, limit: int) -> list[Connection]:
        """Oldest first, by (created_at, id)."""
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            return list(uow.connections.page(organization_id, after=after, limit=limit))

    def describe(self, connection: Connection, warnings: tuple[str, ...] = ()) -> ConnectionView:
        """The public view (no secret, no private key: M-05), with what the stored test
        logins say: the newest outcome, and when one last passed (the purge keeps both)."""
        with self._deps.store.unit_of_work() as uow:
            tests = uow.connection_tests
            newest = tests.latest(connection.organization_id, connection.id, limit=1)
            passed = tests.newest_passed(connection.organization_id, connection.id)
        return describe(
            connection,
            issuer=self._deps.issuer,
            now=self._deps.clock.now(),
            last_test=LastTest(newest[0].passed, newest[0].created_at) if newest else None,
            last_passed_at=passed.created_at if passed else None,
            warnings=warnings,
        )

    def update(
        self,
        actor: str,
        organization_id: str,
        connection_id: str,
        *,
        name: str | None = None,
        settings: Mapping[str, object] | None = None,
        client_secret: str | None = None,
    ) -> Saved:
        """Rename, and change the settings given (SAML: new metadata, IdP values or
        options; OIDC: any setting, a new client secret), always through the connector's
        parse. A null setting goes back to its default. Unchanged, nothing is written.

        New settings end a pending draft (connection_drafts.py): it was built on the
        settings they replace, and switching it over would silently undo this update."""
        chosen = check_name(name) if name is not None else None
        current = self.get(organization_id, connection_id)
        config: dict[str, object] = dict(current.config)
        notes: tuple[str, ...] = ()
        if settings or client_secret is not None:
            config, notes = self.proposed(current, current.config, settings or {}, client_secret)
        changed = changed_settings(current.config, config)
        draft = None if changed else current.draft
        updated = replace(current, name=chosen or current.name, config=config, draft=draft)
        if updated == current:
            return Saved(current, notes)
        named = ["name"] if updated.name != current.name else []
        saved = self.save(
            actor, current, updated, "connection.updated", changed=named + changed,
            draft_discarded=True if draft is None and current.draft is not None else None,
        )  # fmt: skip
        return Saved(saved, notes)

    def proposed(
        self,
        current: Connection,
        base: Mapping[str, object],
        settings: Mapping[str, object],
        client_secret: str | None,
    ) -> tuple[dict[str, object], tuple[str, ...]]:
        """`settings` (and a new client secret) over `base`, the stored config they change
        (the active settings, or a pending draft), through the connector's parse, with what
        the change noticed. Every door that changes settings comes here: `update` for the
        active settings, `ConnectionDrafts.change` for a draft."""
        with fetching_for(self._deps, current.organization_id, "/settings"):
            if current.kind == SamlConnectionConfig.kind:
                return self._saml_settings(base, settings, client_secret)
            return self._oidc_settings(current.id, base, settings, client_secret)

    def activate(
        self,
        actor: str,
        organization_id: str,
        connection_id: str,
        *,
        expected_version: int | None = None,
    ) -> Connection:
        """Logins route to it from now on; refused if its stored settings no longer pass the
        connector's checks, since the first login would fail on them. `expected_version`:
        only the version a caller checked (the portal: the one a test passed on)."""
        current = self.get(organization_id, connection_id)
        if expected_version is not None and current.version != expected_version:
            raise ResourceConflict("the connection changed since it was checked; test it again")
        if current.active:
            return current
        refuse_unless_activatable(current)
        return self.save(actor, current, replace(current, active=True), "connection.activated")

    def deactivate(self, actor: str, organization_id: str, connection_id: str) -> Connection:
        """No login routes to it from now on; its settings and identities are kept."""
        current = self.get(organization_id, connection_id)
        if not current.active:
            return current
        return self.save(actor, current, replace(current, active=False), "connection.deactivated")

    def delete(self, actor: str, organization_id: str, connection_id: str) -> None:
        """Its identities go with it: a person who logs in again through a new connection
        gets a new identity."""
        with self._deps.store.unit_of_work() as uow:
            found = scoped.connection(uow, organization_id, connection_id)
            try:
                uow.connections.delete(organization_id, connection_id)
            except NotFound as exc:
                raise ResourceNotFound(f"connection {connection_id}") from exc
            record(uow, self._deps, "connection.deleted", actor=actor,
                   organization_id=organization_id, connection_id=connection_id,
                   type=found.kind, name=found.name)  # fmt: skip

    # -- the steps ----------------------------------------------------------------------

    def _saml_settings(
        self, base: Mapping[str, object], settings: Mapping[str, object], client_secret: str | None
    ) -> tuple[dict[str, object], tuple[str, ...]]:
        refuse_unknown(settings, SAML_SETTINGS)
        if client_secret is not None:
            raise InvalidInput.at("/settings/client_secret", "a SAML connection has no secret")
        now = self._deps.clock.now()
        policy = fetch_policy(self._deps.outbound, base, settings, now=now)
        fields, renamed = read_saml_idp(
            settings, self._deps.http, policy, refuse_expired_at=first_values_at(base, now)
        )
        check_sso_url(fields, renamed, production=self._deps.production)
        raw = {**base, **fields}
        for option in SAML_OPTIONS:
            if option in settings:
                raw[option] = settings[option]
                if settings[option] is None:
                    del raw[option]
        return saml_config(raw, renamed), ()

    def _oidc_settings(
        self,
        connection_id: str,
        base: Mapping[str, object],
        settings: Mapping[str, object],
        client_secret: str | None,
    ) -> tuple[dict[str, object], tuple[str, ...]]:
        refuse_unknown(settings, OIDC_SETTINGS)
        check_ca_bundle(settings, now=self._deps.clock.now())
        config = oidc_config(
            base, settings, client_secret=client_secret, box=self._deps.secrets,
            connection_id=connection_id,
        )  # fmt: skip
        return config, self._check_provider(None, config)

    def _check_provider(
        self, organization_id: str | None, config: Mapping[str, object]
    ) -> tuple[str, ...]:
        """`organization_id`: fetch in its bulkhead (None: the caller already does)."""
        if organization_id is not None:
            with fetching_for(self._deps, organization_id, "/settings/issuer"):
                return self._check_provider(None, config)
        parsed = OidcConnectionConfig.parse(config)
        check_oidc_urls(parsed, self._deps.outbound)
        policy = self._deps.outbound.trusting(parsed.ca_bundle)  # this connection's alone
        with field_errors():
            checked = check_provider(parsed, self._deps.http, policy=policy)
        return parsed.warnings() + checked.warnings

    def _sp_key_pair(self, connection_id: str, purpose: str) -> dict[str, str]:
        return new_sp_key_pair(
            self._deps.secrets,
            connection_id,
            purpose,
            common_name=f"Gatehouse SP {connection_id} {purpose}",
            now=self._deps.clock.now(),
        )

    def _organization(self, organization_id: str) -> None:
        """Checked before any metadata or discovery is fetched on the organization's
        behalf, so an unknown (or another's) organization costs no outbound request."""
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)

    def _add(self, actor: str, connection: Connection) -> None:
        """A connection created active passes the same check as `activate` first."""
        if connection.active:
            refuse_unless_activatable(connection)
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, connection.organization_id)
            try:
                uow.connections.add(connection)
            except NotFound as exc:  # the organization was deleted meanwhile
                raise ResourceNotFound(f"organization {connection.organization_id}") from exc
            record(uow, self._deps, "connection.created", actor=actor,
                   organization_id=connection.organization_id, connection_id=connection.id,
                   type=connection.kind, name=connection.name)  # fmt: skip

    def save(
        self, actor: str, current: Connection, updated: Connection, kind: str, **detail: object
    ) -> Connection:
        """`updated` in place of `current`, in a unit of work of its own (`save_in`)."""
        with self._deps.store.unit_of_work() as uow:
            return save_in(uow, self._deps, actor, current, updated, kind, **detail)


def save_in(
    uow: UnitOfWork,
    deps: ManagementDeps,
    actor: str,
    current: Connection,
    updated: Connection,
    kind: str,
    **detail: object,
) -> Connection:
    """`updated` in place of `current`, a compare-and-swap on the version read, with its
    audit event in the same unit of work: an edit made meanwhile is refused (409), never
    overwritten. `detail` goes to the event."""
    try:
        saved = uow.connections.save(updated, expected_version=current.version)
    except Conflict as exc:
        raise ResourceConflict(
            "the connection changed since it was read; read it again and retry"
        ) from exc
    except NotFound as exc:
        raise ResourceNotFound(f"connection {current.id}") from exc
    record(uow, deps, kind, actor=actor, organization_id=current.organization_id,
           connection_id=current.id, reason=None, version=saved.version, **detail)  # fmt: skip
    return saved


def changed_settings(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """The settings names (as a caller gives them) whose stored values differ, for the
    audit event and the portal's "what this draft changes"."""
    return sorted(
        _CHANGED_NAME.get(k, k) for k in {*before, *after} if before.get(k) != after.get(k)
    )


def refuse_unless_activatable(connection: Connection) -> None:
    """The rule for routing logins to a connection, whether it is activated later or
    created active: its settings must pass the connector's checks (409 otherwise)."""
    try:
        parse_settings(connection)
    except ConfigError as exc:
        raise ResourceConflict(f"update its settings before activating it ({exc})") from exc


def parse_settings(connection: Connection) -> None:
    """ConfigError if the stored settings no longer pass the connector's checks (a rule
    tightened since they were saved): the first login would fail on them."""
    if connection.kind == SamlConnectionConfig.kind:
        SamlConnectionConfig.parse(connection.config)
    else:
        OidcConnectionConfig.parse(connection.config)
