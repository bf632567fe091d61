"""How long what expires is kept, and how often the background work runs, read from the
environment. Apart from `broker.settings` to keep that module small; `Settings.retention`
holds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from broker.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionSettings:
    """How long what expires is kept, and how often every instance purges it.

    Every instance runs the purge (`broker.store.purge`) every `purge_interval`, jittered so
    instances do not align; zero disables it (then run `gatehouse purge` from a scheduler).
    Audit events are kept `audit_retention` (400 days by default: a year and a month, so a
    yearly review still finds last year's events). Portal links stay listed by the
    management API for `portal_link_retention` after they expired or were revoked, and a
    connection's test results stay readable for `connection_test_retention` (its newest
    test, and newest passed test, are kept whatever their age). A webhook delivery that
    ended (delivered, or failed for good) stays readable with its attempts for
    `webhook_delivery_retention`. The webhook worker runs every `webhook_interval` (about
    a second: the delay from a change to its webhook); zero disables it.
    """

    purge_interval: timedelta = timedelta(seconds=60)
    webhook_interval: timedelta = timedelta(seconds=1)
    webhook_delivery_retention: timedelta = timedelta(days=30)
    audit_retention: timedelta = timedelta(days=400)
    portal_link_retention: timedelta = timedelta(days=30)
    connection_test_retention: timedelta = timedelta(days=30)
    #: The SCIM request log a directory's page shows (`directory_requests`): recent
    #: requests only, also capped per directory by count.
    directory_request_retention: timedelta = timedelta(days=7)


#: A day between purges at most, a century of retention at most: beyond, `now - retention`
#: would leave the calendar (datetime.min) and a typo is likelier than intent.
_MAX_PURGE_INTERVAL_S = 86_400
_MAX_RETENTION_DAYS = 36_500


def parse_retention_settings(env_vars: Mapping[str, str]) -> RetentionSettings:
    def whole(name: str, default: int, *, least: int, most: int) -> int:
        raw = env_vars.get(name, "").strip() or str(default)
        if not (raw.isascii() and raw.isdigit()) or not least <= int(raw) <= most:
            raise ConfigError(name, f"must be a whole number from {least} to {most}")
        return int(raw)

    def days(name: str, default: timedelta) -> timedelta:
        return timedelta(days=whole(name, default.days, least=1, most=_MAX_RETENTION_DAYS))

    defaults = RetentionSettings()
    interval = whole(
        "GATEHOUSE_PURGE_INTERVAL_SECONDS",
        int(defaults.purge_interval.total_seconds()),
        least=0,
        most=_MAX_PURGE_INTERVAL_S,
    )
    webhook_ms = whole(
        "GATEHOUSE_WEBHOOK_INTERVAL_MS",
        int(defaults.webhook_interval.total_seconds() * 1000),
        least=0,
        most=_MAX_PURGE_INTERVAL_S * 1000,
    )
    return RetentionSettings(
        purge_interval=timedelta(seconds=interval),
        webhook_interval=timedelta(milliseconds=webhook_ms),
        webhook_delivery_retention=days(
            "GATEHOUSE_WEBHOOK_DELIVERY_RETENTION_DAYS", defaults.webhook_delivery_retention
        ),
        audit_retention=days("GATEHOUSE_AUDIT_RETENTION_DAYS", defaults.audit_retention),
        portal_link_retention=days(
            "GATEHOUSE_PORTAL_LINK_RETENTION_DAYS", defaults.portal_link_retention
        ),
        connection_test_retention=days(
            "GATEHOUSE_CONNECTION_TEST_RETENTION_DAYS", defaults.connection_test_retention
        ),
    )
