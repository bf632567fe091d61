"""Retention settings: defaults, parsing, and clear refusals (broker/settings.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import Settings
from broker.settings_retention import RetentionSettings


def retention(tmp_path: Path, **env: str) -> RetentionSettings:
    return Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path), **env}).retention


def test_defaults(tmp_path: Path) -> None:
    assert retention(tmp_path) == RetentionSettings(
        purge_interval=timedelta(seconds=60),
        audit_retention=timedelta(days=400),
        portal_link_retention=timedelta(days=30),
        connection_test_retention=timedelta(days=30),
    )


def test_each_is_read_from_the_environment(tmp_path: Path) -> None:
    assert retention(
        tmp_path,
        GATEHOUSE_PURGE_INTERVAL_SECONDS="300",
        GATEHOUSE_AUDIT_RETENTION_DAYS="90",
        GATEHOUSE_PORTAL_LINK_RETENTION_DAYS="7",
        GATEHOUSE_CONNECTION_TEST_RETENTION_DAYS=" 14 ",
    ) == RetentionSettings(
        purge_interval=timedelta(minutes=5),
        audit_retention=timedelta(days=90),
        portal_link_retention=timedelta(days=7),
        connection_test_retention=timedelta(days=14),
    )


def test_an_interval_of_zero_disables_the_background_purge(tmp_path: Path) -> None:
    assert retention(tmp_path, GATEHOUSE_PURGE_INTERVAL_SECONDS="0").purge_interval == timedelta(0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEHOUSE_PURGE_INTERVAL_SECONDS", "-1"),
        ("GATEHOUSE_PURGE_INTERVAL_SECONDS", "1.5"),
        ("GATEHOUSE_PURGE_INTERVAL_SECONDS", "86401"),
        ("GATEHOUSE_PURGE_INTERVAL_SECONDS", "\u0661"),  # a digit, but not ASCII
        ("GATEHOUSE_AUDIT_RETENTION_DAYS", "0"),
        ("GATEHOUSE_AUDIT_RETENTION_DAYS", "forever"),
        ("GATEHOUSE_AUDIT_RETENTION_DAYS", "36501"),
        ("GATEHOUSE_PORTAL_LINK_RETENTION_DAYS", "0"),
        ("GATEHOUSE_CONNECTION_TEST_RETENTION_DAYS", "30d"),
    ],
)
def test_bad_values_are_refused_by_name(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        retention(tmp_path, **{name: value})
    assert refused.value.field == name
    assert "whole number" in refused.value.message


def test_the_webhook_worker_interval_and_delivery_retention(tmp_path: Path) -> None:
    assert retention(tmp_path).webhook_interval == timedelta(seconds=1)
    assert retention(tmp_path).webhook_delivery_retention == timedelta(days=30)
    read = retention(
        tmp_path,
        GATEHOUSE_WEBHOOK_INTERVAL_MS="250",
        GATEHOUSE_WEBHOOK_DELIVERY_RETENTION_DAYS="7",
    )
    assert read.webhook_interval == timedelta(milliseconds=250)
    assert read.webhook_delivery_retention == timedelta(days=7)
    assert retention(tmp_path, GATEHOUSE_WEBHOOK_INTERVAL_MS="0").webhook_interval == timedelta(0)


@pytest.mark.parametrize("value", ["-1", "1.5", "1e3", "one", "\u0661"])
def test_a_webhook_interval_that_is_not_a_whole_number_is_refused(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        retention(tmp_path, GATEHOUSE_WEBHOOK_INTERVAL_MS=value)
    assert "GATEHOUSE_WEBHOOK_INTERVAL_MS" in str(refused.value)
