"""Can this deployment serve logins, and if not, what to do? What `gatehouse doctor` prints.

Each check is one finding, `ok`, `warn` (works, but look at it) or `FAIL` (logins or a part
of Gatehouse will not work), in words that say what is wrong and what to do; the operator
runs it on their own host, so unlike `/readyz` (`broker.readiness`) it names hosts and
files. The checks reuse what the broker itself refuses with: `Settings.from_env` and the
composition root for the configuration, the store's check for the database and its
schema, the key manager for the signing keys, the configured DNS resolver, and for each
active connection the request its logins make first, through the guarded outbound client
(`broker.upstream.reachability`). A check that needs an earlier one that failed says it was
not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from broker.app import Broker, build_broker, open_store
from broker.errors import ConfigError
from broker.keys import KeyDecryptionError, NoSigningKeyError
from broker.management.dns_txt import DnsTxtLookup, TxtLookupError
from broker.model.records import Connection, KeyState
from broker.settings import Settings
from broker.store import DatabaseUnreachable, SchemaNotCurrent
from broker.store.sql import SqlStore
from broker.store.sql.schema import describe, revisions
from broker.upstream.reachability import reach

OK, WARN, FAIL = "ok", "warn", "FAIL"
#: A name every resolver that sees public DNS knows (RFC 2606 reserves it, IANA serves it).
DNS_PROBE_NAME = "example.com"
DNS_SECONDS = 2.0
#: IdPs asked at once: each request has its deadline, so the whole check takes at most
#: (active connections / this) deadlines.
IDP_PARALLEL = 8


@dataclass(frozen=True, slots=True)
class Finding:
    status: str
    subject: str
    words: str

    @property
    def line(self) -> str:
        return f"{self.status:<4}  {self.subject}: {self.words}"


def diagnose(environ: Mapping[str, str]) -> Iterator[Finding]:
    """The findings in order, each as soon as it is known (the IdPs' take a while)."""
    try:
        settings = Settings.from_env(environ)
        store = open_store(settings)
    except ConfigError as exc:
        yield Finding(FAIL, "configuration", f"{exc}; Gatehouse refuses to start with it")
        return
    try:
        broker = build_broker(settings, store=store)
    except ConfigError as exc:
        store.engine.dispose()
        yield Finding(FAIL, "configuration", f"{exc}; Gatehouse refuses to start with it")
        return
    try:
        yield _configuration(settings, environ)
        database, schema = _store(store)
        yield database
        yield schema
        unchecked = (
            "the database is unreachable" if database.status != OK else "the schema is not current"
        )
        if schema.status == OK:
            yield _signing_keys(broker)
        else:
            yield Finding(WARN, "signing keys", f"not checked: {unchecked}")
        yield _dns(settings)
        if schema.status == OK:
            yield from _idps(broker)
        else:
            yield Finding(WARN, "idps", f"not checked: {unchecked}")
    finally:
        broker.close()
        store.engine.dispose()


def _configuration(settings: Settings, environ: Mapping[str, str]) -> Finding:
    if settings.is_production:
        return Finding(OK, "configuration", f"production, issuer {settings.issuer}")
    if environ.get("GATEHOUSE_SECRET_KEY"):
        shortcuts, to_set = "", "GATEHOUSE_ENV=production"
    else:
        shortcuts = f" and the secret key is a generated one (in {settings.var_dir})"
        to_set = "GATEHOUSE_ENV=production and GATEHOUSE_SECRET_KEY"
    return Finding(
        WARN, "configuration", f"development mode, issuer {settings.issuer}: http and "
        f"loopback IdPs are allowed{shortcuts}; for a deployment set {to_set}",
    )  # fmt: skip


def _store(store: SqlStore) -> tuple[Finding, Finding]:
    where = describe(store.engine)
    try:
        store.check()
    except DatabaseUnreachable as exc:
        return (
            Finding(FAIL, "database", f"{exc}; check GATEHOUSE_DATABASE_URL and the server"),
            Finding(WARN, "schema", "not checked: the database is unreachable"),
        )
    except SchemaNotCurrent as exc:
        return (
            Finding(OK, "database", f"{where} answers"),
            Finding(FAIL, "schema", exc.summary),
        )
    head = revisions().head
    return (
        Finding(OK, "database", f"{where} answers"),
        Finding(OK, "schema", f"at revision {head}, this release's latest"),
    )


def _signing_keys(broker: Broker) -> Finding:
    keys = broker.keys
    by_state = {k.state: k for k in keys.list_keys()}
    decrypt = "decrypt with GATEHOUSE_SECRET_KEY"
    fix = "set the GATEHOUSE_SECRET_KEY they were encrypted with (the same on every instance)"
    try:
        current = keys.signing_key()
    except NoSigningKeyError:
        return Finding(FAIL, "signing keys", "no current signing key: run gatehouse migrate")
    except KeyDecryptionError:
        kid = by_state[KeyState.CURRENT].kid
        return Finding(FAIL, "signing keys", f"the current key {kid} does not {decrypt}: {fix}")
    try:
        following = keys.next_key()
    except NoSigningKeyError:
        return Finding(
            WARN, "signing keys", f"current {current.kid} can sign, but there is no next key "
            "for `gatehouse keys rotate` to switch to: run gatehouse migrate",
        )  # fmt: skip
    except KeyDecryptionError:
        kid = by_state[KeyState.NEXT].kid
        return Finding(FAIL, "signing keys", f"the next key {kid} does not {decrypt}, so a "
                       f"rotation would break signing: {fix}")  # fmt: skip
    since = by_state[KeyState.CURRENT].activated_at
    signing = f" (signing since {since:%Y-%m-%d})" if since else ""
    return Finding(
        OK, "signing keys", f"current {current.kid}{signing} and next {following.kid} {decrypt}; "
        "`gatehouse keys rotate` can switch to the next one at any time",
    )  # fmt: skip


def _dns(settings: Settings) -> Finding:
    """Domain verification asks this resolver for customers' TXT records."""
    nameserver = settings.management.dns_resolver
    resolver = nameserver or "the system resolver"
    try:
        DnsTxtLookup(nameserver, lifetime=DNS_SECONDS).txt(DNS_PROBE_NAME)
    except TxtLookupError as exc:
        if exc.reason == "record_not_found":
            return Finding(
                WARN, "dns", f"{resolver} answered, but knows no TXT record at "
                f"{DNS_PROBE_NAME}: domain verification needs a resolver that sees public "
                "DNS (GATEHOUSE_DNS_RESOLVER)",
            )  # fmt: skip
        if exc.reason == "timeout":
            problem = f"did not answer within {DNS_SECONDS:g} s"
        else:
            problem = f"failed ({exc.detail})"
        return Finding(
            FAIL, "dns", f"{resolver} {problem}: domains cannot be verified; check "
            "GATEHOUSE_DNS_RESOLVER and that the resolver is reachable from here",
        )  # fmt: skip
    return Finding(OK, "dns", f"{resolver} answered for {DNS_PROBE_NAME}")


def _idps(broker: Broker) -> Iterator[Finding]:
    with broker.store.unit_of_work() as uow:
        active = [
            connection
            for organization in uow.organizations.list()
            for connection in uow.connections.for_organization(organization.id)
            if connection.active
        ]
    if not active:
        yield Finding(OK, "idps", "no active connection to check")
        return
    with ThreadPoolExecutor(IDP_PARALLEL, thread_name_prefix="doctor") as pool:
        yield from pool.map(lambda connection: _idp(broker, connection), active)


def _idp(broker: Broker, connection: Connection) -> Finding:
    subject = f"idp {connection.id} ({connection.organization_id})"
    reached = reach(connection.kind, connection.config, broker.http, broker.outbound)
    if reached.problem is not None:
        # The outbound client's words name the URL when the connection failed ("cannot
        # reach ..."), not when the server answered wrongly ("the server answered 500").
        named = reached.url is None or reached.url in reached.problem
        where = "" if named else f"{reached.url}: "
        return Finding(
            FAIL, subject, f"{where}{reached.problem}; its logins fail until this is fixed: "
            "check the IdP (or the connection's settings), or deactivate the connection",
        )  # fmt: skip
    if reached.url is None:
        return Finding(
            OK, subject, f"{connection.kind.upper()}, nothing to fetch: its metadata was read "
            "when it was saved, and browsers, not Gatehouse, reach its SSO URL",
        )  # fmt: skip
    return Finding(OK, subject, f"{reached.url} answered")
