"""How often the scheduled jobs (`broker.jobs`) run, read from the environment.

Apart from `broker.settings` only to keep that module small; `Settings.jobs` holds it.
Every bound is a day or less between runs: the issue asks for "at least daily", and a
longer value is likelier a typo (seconds for minutes) than an intent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from broker.errors import ConfigError

_DAY_S = 86_400
_MAX_GRACE_DAYS = 90


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSettings:
    """`tick`: how often each instance looks for due jobs (zero: never; then run
    `gatehouse jobs run` from an external scheduler). The other intervals are the jobs'
    own periods, cluster-wide: each runs once per period whatever the number of instances.
    """

    tick: timedelta = timedelta(seconds=60)
    domain_recheck_interval: timedelta = timedelta(days=1)
    domain_grace: timedelta = timedelta(days=7)
    certificate_check_interval: timedelta = timedelta(hours=1)
    #: How often the SAML metadata refresh looks for connections due; each connection's
    #: own period comes from its metadata (at least daily, see the job).
    saml_metadata_interval: timedelta = timedelta(minutes=10)


def parse_job_settings(env_vars: Mapping[str, str]) -> JobSettings:
    def whole(name: str, default: int, *, least: int, most: int) -> int:
        raw = env_vars.get(name, "").strip() or str(default)
        if not (raw.isascii() and raw.isdigit()) or not least <= int(raw) <= most:
            raise ConfigError(name, f"must be a whole number from {least} to {most}")
        return int(raw)

    def seconds(name: str, default: timedelta, *, least: int) -> timedelta:
        value = whole(name, int(default.total_seconds()), least=least, most=_DAY_S)
        return timedelta(seconds=value)

    defaults = JobSettings()
    grace = whole(
        "GATEHOUSE_DOMAIN_GRACE_DAYS", defaults.domain_grace.days, least=1, most=_MAX_GRACE_DAYS
    )
    return JobSettings(
        tick=seconds("GATEHOUSE_JOBS_TICK_SECONDS", defaults.tick, least=0),
        domain_recheck_interval=seconds(
            "GATEHOUSE_DOMAIN_RECHECK_INTERVAL_SECONDS", defaults.domain_recheck_interval, least=60
        ),
        domain_grace=timedelta(days=grace),
        certificate_check_interval=seconds(
            "GATEHOUSE_CERTIFICATE_CHECK_INTERVAL_SECONDS",
            defaults.certificate_check_interval,
            least=60,
        ),
        saml_metadata_interval=seconds(
            "GATEHOUSE_SAML_METADATA_INTERVAL_SECONDS", defaults.saml_metadata_interval, least=60
        ),
    )
