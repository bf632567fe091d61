"""The scheduled jobs' settings: defaults, parsing, and clear refusals
(broker/settings_jobs.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import Settings
from broker.settings_jobs import JobSettings


def jobs(tmp_path: Path, **env: str) -> JobSettings:
    return Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path), **env}).jobs


def test_defaults(tmp_path: Path) -> None:
    assert jobs(tmp_path) == JobSettings(
        tick=timedelta(seconds=60),
        domain_recheck_interval=timedelta(days=1),
        domain_grace=timedelta(days=7),
        certificate_check_interval=timedelta(hours=1),
        saml_metadata_interval=timedelta(minutes=10),
    )


def test_each_is_read_from_the_environment(tmp_path: Path) -> None:
    assert jobs(
        tmp_path,
        GATEHOUSE_JOBS_TICK_SECONDS="0",
        GATEHOUSE_DOMAIN_RECHECK_INTERVAL_SECONDS="3600",
        GATEHOUSE_DOMAIN_GRACE_DAYS=" 14 ",
        GATEHOUSE_CERTIFICATE_CHECK_INTERVAL_SECONDS="600",
        GATEHOUSE_SAML_METADATA_INTERVAL_SECONDS="300",
    ) == JobSettings(
        tick=timedelta(0),
        domain_recheck_interval=timedelta(hours=1),
        domain_grace=timedelta(days=14),
        certificate_check_interval=timedelta(minutes=10),
        saml_metadata_interval=timedelta(minutes=5),
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEHOUSE_JOBS_TICK_SECONDS", "-1"),
        ("GATEHOUSE_JOBS_TICK_SECONDS", "86401"),
        ("GATEHOUSE_DOMAIN_RECHECK_INTERVAL_SECONDS", "0"),  # would re-check without pause
        ("GATEHOUSE_DOMAIN_RECHECK_INTERVAL_SECONDS", "172800"),  # the issue: at least daily
        ("GATEHOUSE_DOMAIN_GRACE_DAYS", "0"),  # a missing record would unverify at once
        ("GATEHOUSE_DOMAIN_GRACE_DAYS", "91"),
        ("GATEHOUSE_CERTIFICATE_CHECK_INTERVAL_SECONDS", "1e3"),
        ("GATEHOUSE_CERTIFICATE_CHECK_INTERVAL_SECONDS", "٣٠٠"),  # digits, not ASCII
        ("GATEHOUSE_SAML_METADATA_INTERVAL_SECONDS", "59"),  # a fetch storm, not a refresh
    ],
)
def test_out_of_range_values_name_the_variable(tmp_path: Path, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        jobs(tmp_path, **{variable: value})
    assert variable in str(raised.value)
    assert "whole number" in str(raised.value)
