"""Settings, read from the environment exactly once (`Settings.from_env`).

Components receive the section they need (`TokenSettings`, `DatabaseSettings`), never the
whole tree, so a module's configuration surface is visible in its constructor.

Development is allowed shortcuts (a generated secret key kept under the var directory,
`http://` loopback issuers) and says so loudly, once. Production refuses to start without
them being set properly: a silently generated master key would make every encrypted secret
unreadable on the next machine.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.errors import ConfigError
from broker.model.client_address import FORWARDED, X_FORWARDED_FOR, ForwardedHeader
from broker.settings_jobs import JobSettings, parse_job_settings
from broker.settings_rate_limits import RateLimitSettings, parse_rate_limit_settings
from broker.settings_retention import RetentionSettings, parse_retention_settings

log = logging.getLogger(__name__)

DEVELOPMENT = "development"
PRODUCTION = "production"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_MIN_SECRET_KEY_BYTES = 32
_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")
_GENERATE_KEY = 'generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
_NETWORKS_FORM = "expected comma-separated networks in CIDR notation, such as 10.20.0.0/16"

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenSettings:
    """Lifetimes of what the OP hands out.

    The code lifetime is 60 s (RFC 6749 §4.1.2 recommends at most 10 minutes; Auth0 redeems
    within a second). Flows last 10 minutes: long enough for a person at an upstream login.
    """

    code_ttl: timedelta = timedelta(seconds=60)
    flow_ttl: timedelta = timedelta(minutes=10)
    id_token_ttl: timedelta = timedelta(minutes=10)
    access_token_ttl: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogSettings:
    """How log lines are written: JSON lines for a log pipeline (production's default), text
    for a person at a terminal (development's), at `level` and above."""

    format: str = "text"
    level: str = "info"


LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSettings:
    """Fixed credentials for the demo client, so an external RP can be pointed at a demo."""

    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementSettings:
    """The management API and what it reaches: the DNS resolver domain verification asks
    (`host[:port]`; None is the system's), the portal's public URL (portal links point
    there; None is `<issuer>/portal`), and each client's request budget per minute."""

    dns_resolver: str | None = None
    portal_url: str | None = None
    requests_per_minute: int = 600


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamSettings:
    """How Gatehouse waits on customers' IdPs (`broker.upstream.deadline`, `bulkhead`).

    `deadline_seconds` bounds each request in all (connect, TLS, send, receive); a
    connection may set its own (1..30 s). `max_in_flight` requests per connection at once in
    one process, and `max_waiting` more queued briefly for a slot (a burst at a healthy IdP
    is served; at a slow one it is refused); `breaker_failures` consecutive failures open its
    circuit for
    `breaker_open_seconds` (doubling while trials fail). `login_threads` is the worker pool
    of the routes that wait on IdPs (login pages, callbacks, the portal): the token endpoint,
    userinfo, discovery, JWKS and the management API keep their own pool, so no IdP can hold
    the workers that serve them."""

    deadline_seconds: float = 10.0
    min_bytes_per_second: int = 256
    max_in_flight: int = 8
    max_waiting: int = 8
    breaker_failures: int = 5
    breaker_open_seconds: float = 30.0
    login_threads: int = 40
    #: Certificate authorities (PEM) every request to an IdP trusts beside the public bundle
    #: (`GATEHOUSE_UPSTREAM_CA_FILE`): the private CA of on-premises IdPs' certificates.
    ca_certificates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxySettings:
    """Our own reverse proxies (`GATEHOUSE_TRUSTED_PROXIES`, none by default) and the header
    they write the client's address into (`GATEHOUSE_FORWARDED_HEADER`): see
    `broker.model.client_address`. Only these networks may say who the client is."""

    trusted: tuple[IpNetwork, ...] = ()
    header: ForwardedHeader = X_FORWARDED_FOR


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSettings:
    """How Prometheus reads `/metrics` (`broker.metrics`), as the operator chooses: on the
    main listener with `Authorization: Bearer <token>` when `token` is set (otherwise
    `/metrics` there is 404), and/or on a separate `listen` address (host, port) serving
    only `/metrics`, for an address only Prometheus reaches."""

    token: str | None = field(default=None, repr=False)
    listen: tuple[str, int] | None = None


#: A metrics token is a bearer secret in a header: long enough not to be guessed, and
#: printable ASCII without spaces (what a header carries unchanged).
_MIN_METRICS_TOKEN = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    issuer: str
    env: str
    database: DatabaseSettings
    secret_key: bytes = field(repr=False)
    #: Keys that decrypt but no longer encrypt: GATEHOUSE_SECRET_KEY's predecessors, kept
    #: until `gatehouse secrets reencrypt` has moved every stored secret to the current key.
    old_secret_keys: tuple[bytes, ...] = field(default=(), repr=False)
    var_dir: Path
    tokens: TokenSettings = field(default_factory=TokenSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    #: Non-public networks IdP requests may reach anyway (an on-premises IdP); everything
    #: else must be a public address (SSRF, docs/security.md R-10). Development adds
    #: loopback on its own.
    upstream_allowed_networks: tuple[IpNetwork, ...] = ()
    upstream: UpstreamSettings = field(default_factory=UpstreamSettings)
    management: ManagementSettings = field(default_factory=ManagementSettings)
    proxies: ProxySettings = field(default_factory=ProxySettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    logging: LogSettings = field(default_factory=LogSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    jobs: JobSettings = field(default_factory=JobSettings)

    @property
    def is_production(self) -> bool:
        return self.env == PRODUCTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("GATEHOUSE_ENV", DEVELOPMENT)
        if env not in (DEVELOPMENT, PRODUCTION):
            raise ConfigError("GATEHOUSE_ENV", f"must be {DEVELOPMENT!r} or {PRODUCTION!r}")
        var_dir = Path(env_vars.get("GATEHOUSE_VAR_DIR", "var")).resolve()
        issuer = parse_issuer(env_vars.get("GATEHOUSE_ISSUER", "http://127.0.0.1:8000"), env)
        database_url = env_vars.get("GATEHOUSE_DATABASE_URL") or (
            f"sqlite:///{var_dir / 'gatehouse.sqlite3'}"
        )
        raw_key = env_vars.get("GATEHOUSE_SECRET_KEY")
        if raw_key:
            secret_key = parse_secret_key(raw_key)
        elif env == PRODUCTION:
            raise ConfigError(
                "GATEHOUSE_SECRET_KEY",
                f"is required in production: URL-safe base64 of at least 32 bytes; {_GENERATE_KEY}",
            )
        else:
            secret_key = load_or_create_dev_secret_key(var_dir)
        try:
            networks = parse_networks(env_vars.get("GATEHOUSE_UPSTREAM_ALLOW_NETWORKS", ""))
        except ValueError as exc:
            raise ConfigError(
                "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS", f"{exc}; {_NETWORKS_FORM}"
            ) from exc
        return cls(
            issuer=issuer,
            env=env,
            upstream_allowed_networks=networks,
            upstream=_upstream_settings(env_vars),
            management=_management_settings(env_vars),
            proxies=parse_proxy_settings(env_vars),
            rate_limits=parse_rate_limit_settings(env_vars),
            retention=parse_retention_settings(env_vars),
            logging=parse_log_settings(env_vars),
            metrics=parse_metrics_settings(env_vars),
            jobs=parse_job_settings(env_vars),
            database=DatabaseSettings(url=database_url),
            secret_key=secret_key,
            old_secret_keys=parse_old_secret_keys(env_vars.get("GATEHOUSE_SECRET_KEYS_OLD", "")),
            var_dir=var_dir,
            demo=DemoSettings(
                client_id=env_vars.get("GATEHOUSE_DEMO_CLIENT_ID") or None,
                client_secret=env_vars.get("GATEHOUSE_DEMO_CLIENT_SECRET") or None,
                redirect_uris=tuple(env_vars.get("GATEHOUSE_DEMO_REDIRECT_URIS", "").split()),
            ),
        )


def parse_log_settings(env_vars: Mapping[str, str]) -> LogSettings:
    """Read on its own too: the CLI sets its logging up before any command loads the rest."""
    production = env_vars.get("GATEHOUSE_ENV", DEVELOPMENT) == PRODUCTION
    log_format = env_vars.get("GATEHOUSE_LOG_FORMAT", "").strip().lower()
    log_format = log_format or ("json" if production else "text")
    if log_format not in LOG_FORMATS:
        raise ConfigError("GATEHOUSE_LOG_FORMAT", "must be json or text")
    level = env_vars.get("GATEHOUSE_LOG_LEVEL", "").strip().lower() or "info"
    if level not in LOG_LEVELS:
        raise ConfigError("GATEHOUSE_LOG_LEVEL", "must be debug, info, warning or error")
    return LogSettings(format=log_format, level=level)


def _management_settings(env_vars: Mapping[str, str]) -> ManagementSettings:
    rate = env_vars.get("GATEHOUSE_API_RATE_LIMIT", "600").strip()
    if not rate.isdigit() or int(rate) < 1:
        raise ConfigError("GATEHOUSE_API_RATE_LIMIT", "must be a positive whole number")
    portal_url = env_vars.get("GATEHOUSE_PORTAL_URL", "").strip().rstrip("/") or None
    if portal_url is not None and not portal_url.startswith(("https://", "http://")):
        raise ConfigError("GATEHOUSE_PORTAL_URL", "must be an absolute URL")
    return ManagementSettings(
        dns_resolver=env_vars.get("GATEHOUSE_DNS_RESOLVER", "").strip() or None,
        portal_url=portal_url,
        requests_per_minute=int(rate),
    )


def _upstream_settings(env_vars: Mapping[str, str]) -> UpstreamSettings:
    defaults = UpstreamSettings()

    def number(name: str, default: float, low: float, high: float) -> float:
        raw = env_vars.get(name, "").strip()
        if not raw:
            return default
        if not _DECIMAL.fullmatch(raw) or not low <= float(raw) <= high:
            raise ConfigError(name, f"must be a number from {low:g} to {high:g}")
        return float(raw)

    def whole(name: str, default: int, low: int, high: int) -> int:
        raw = env_vars.get(name, "").strip()
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise ConfigError(name, f"must be a whole number from {low} to {high}")
        return int(raw)

    return UpstreamSettings(
        deadline_seconds=number(
            "GATEHOUSE_UPSTREAM_DEADLINE_SECONDS", defaults.deadline_seconds, 1, 30
        ),
        min_bytes_per_second=whole(
            "GATEHOUSE_UPSTREAM_MIN_RATE", defaults.min_bytes_per_second, 1, 1 << 20
        ),
        max_in_flight=whole("GATEHOUSE_UPSTREAM_MAX_IN_FLIGHT", defaults.max_in_flight, 1, 1000),
        max_waiting=whole("GATEHOUSE_UPSTREAM_MAX_WAITING", defaults.max_waiting, 0, 1000),
        breaker_failures=whole(
            "GATEHOUSE_UPSTREAM_BREAKER_FAILURES", defaults.breaker_failures, 1, 1000
        ),
        breaker_open_seconds=number(
            "GATEHOUSE_UPSTREAM_BREAKER_SECONDS", defaults.breaker_open_seconds, 1, 3600
        ),
        login_threads=whole("GATEHOUSE_LOGIN_THREADS", defaults.login_threads, 1, 1000),
        ca_certificates=read_ca_file(env_vars.get("GATEHOUSE_UPSTREAM_CA_FILE", "").strip()),
    )


def read_ca_file(path: str) -> tuple[str, ...]:
    """The PEM certificates of `GATEHOUSE_UPSTREAM_CA_FILE` (none when unset), read at
    start-up: a file that cannot be read, or holds no certificate, stops the broker here
    rather than failing every login to the IdPs it was meant for."""
    if not path:
        return ()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            "GATEHOUSE_UPSTREAM_CA_FILE",
            f"cannot read {path} ({exc.strerror or exc}); expected a PEM file of certificate "
            "authorities",
        ) from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ConfigError(
            "GATEHOUSE_UPSTREAM_CA_FILE",
            f"{path} is not a PEM file of certificates (-----BEGIN CERTIFICATE-----)",
        ) from None
    return tuple(dict.fromkeys(c.public_bytes(Encoding.PEM).decode() for c in certificates))


def parse_proxy_settings(env_vars: Mapping[str, str]) -> ProxySettings:
    try:
        trusted = parse_networks(env_vars.get("GATEHOUSE_TRUSTED_PROXIES", ""))
    except ValueError as exc:
        raise ConfigError("GATEHOUSE_TRUSTED_PROXIES", f"{exc}; {_NETWORKS_FORM}") from exc
    header = env_vars.get("GATEHOUSE_FORWARDED_HEADER", X_FORWARDED_FOR).strip().lower()
    if header == X_FORWARDED_FOR:
        return ProxySettings(trusted=trusted, header=X_FORWARDED_FOR)
    if header == FORWARDED:
        return ProxySettings(trusted=trusted, header=FORWARDED)
    raise ConfigError("GATEHOUSE_FORWARDED_HEADER", "must be X-Forwarded-For or Forwarded")


def parse_metrics_settings(env_vars: Mapping[str, str]) -> MetricsSettings:
    token = env_vars.get("GATEHOUSE_METRICS_TOKEN", "").strip() or None
    if token is not None and (
        len(token) < _MIN_METRICS_TOKEN or not all("!" <= ch <= "~" for ch in token)
    ):
        raise ConfigError(
            "GATEHOUSE_METRICS_TOKEN",
            f"must be at least {_MIN_METRICS_TOKEN} printable ASCII characters without "
            f"spaces; {_GENERATE_KEY}",
        )
    raw = env_vars.get("GATEHOUSE_METRICS_LISTEN", "").strip()
    return MetricsSettings(token=token, listen=parse_listen_address(raw) if raw else None)


def parse_listen_address(raw: str) -> tuple[str, int]:
    """`127.0.0.1:9464`, `[::1]:9464`, `metrics.internal:9464` -> (host, port)."""
    expected = "expected host:port, such as 127.0.0.1:9464 or [::1]:9464"
    try:
        parts = urlsplit(f"//{raw}")
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigError("GATEHOUSE_METRICS_LISTEN", expected) from None
    if not host or not port or parts.path or parts.query or parts.fragment or "@" in raw:
        raise ConfigError("GATEHOUSE_METRICS_LISTEN", expected)
    return host, port


def parse_issuer(raw: str, env: str) -> str:
    """The issuer is compared byte for byte by every RP (OIDC Discovery §3, §4.3), so it is
    validated once here and never rebuilt: no trailing slash, no query, no fragment."""
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError("GATEHOUSE_ISSUER", "must be an absolute https URL")
    if parts.query or parts.fragment:
        raise ConfigError("GATEHOUSE_ISSUER", "must not have a query or fragment")
    if raw.endswith("/"):
        raise ConfigError("GATEHOUSE_ISSUER", "must not end with a slash")
    if parts.scheme == "http":
        if env == PRODUCTION:
            raise ConfigError("GATEHOUSE_ISSUER", "must be https in production")
        if parts.hostname not in _LOOPBACK_HOSTS:
            raise ConfigError("GATEHOUSE_ISSUER", "http is allowed for loopback hosts only")
    return raw


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """`10.0.0.0/8, 192.168.1.7` -> networks; ValueError names the bad entry."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"not an IP network: {item!r}") from exc
    return tuple(networks)


def parse_secret_key(raw: str) -> bytes:
    """Accept the key as URL-safe base64 of at least 32 bytes (what `make run` generates)."""
    try:
        return _decode_secret_key(raw)
    except ValueError as exc:
        raise ConfigError("GATEHOUSE_SECRET_KEY", f"{exc}; {_GENERATE_KEY}") from None


def parse_old_secret_keys(raw: str) -> tuple[bytes, ...]:
    """Comma-separated, each in GATEHOUSE_SECRET_KEY's format; blanks are ignored."""
    keys = []
    for position, item in enumerate((i.strip() for i in raw.split(",") if i.strip()), 1):
        try:
            keys.append(_decode_secret_key(item))
        except ValueError as exc:
            raise ConfigError("GATEHOUSE_SECRET_KEYS_OLD", f"key {position} {exc}") from None
    return tuple(keys)


def _decode_secret_key(raw: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise ValueError("must be URL-safe base64") from None
    if len(key) < _MIN_SECRET_KEY_BYTES:
        raise ValueError(f"must decode to at least {_MIN_SECRET_KEY_BYTES} bytes, not {len(key)}")
    return key


def load_or_create_dev_secret_key(var_dir: Path) -> bytes:
    """Development only: one generated key per var directory, so the server, the CLI and
    every process of this deployment decrypt with the same key."""
    path = var_dir / "secret.key"
    try:
        created = _create_dev_secret_key(var_dir, path)
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            "GATEHOUSE_VAR_DIR",
            f"cannot keep the development secret key in {path} ({exc.strerror or exc}); "
            "expected a writable directory, or set GATEHOUSE_SECRET_KEY",
        ) from None
    if created:
        log.warning(
            "DEVELOPMENT MODE: generated GATEHOUSE_SECRET_KEY in %s. Never use this in "
            "production; set GATEHOUSE_SECRET_KEY and GATEHOUSE_ENV=production.",
            path,
        )
    try:
        return _decode_secret_key(text)
    except ValueError as exc:
        raise ConfigError(
            "GATEHOUSE_SECRET_KEY",
            f"is unset, and the development key in {path} {exc}; set GATEHOUSE_SECRET_KEY, or "
            "remove the file to have a new one generated (what was encrypted under the old one "
            "is then lost)",
        ) from None


def _create_dev_secret_key(var_dir: Path, path: Path) -> bool:
    """Write a new key unless one is there; True if this call found none."""
    if path.exists():
        return False
    var_dir.mkdir(parents=True, exist_ok=True)
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return True
    with os.fdopen(fd, "w") as fh:
        fh.write(encoded + "\n")
    return True
