"""Every setting that cannot work is refused by the name of its environment variable, with
what is expected (broker/settings.py): an operator fixes it from the message alone."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import Settings
from broker.settings_rate_limits import RATE_LIMIT_VARIABLES

GENERATE = 'generate one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`'
NETWORKS = "expected comma-separated networks in CIDR notation, such as 10.20.0.0/16"
SHORT_KEY = base64.urlsafe_b64encode(b"short").decode()

REFUSALS = [
    ("GATEHOUSE_ENV", "staging", "must be 'development' or 'production'"),
    ("GATEHOUSE_ISSUER", "sso.example.com", "must be an absolute https URL"),
    ("GATEHOUSE_SECRET_KEY", SHORT_KEY, f"must decode to at least 32 bytes, not 5; {GENERATE}"),
    ("GATEHOUSE_SECRET_KEY", "a", f"must be URL-safe base64; {GENERATE}"),
    (
        "GATEHOUSE_SECRET_KEYS_OLD",
        f"{base64.urlsafe_b64encode(b'k' * 32).decode()}, {SHORT_KEY}",
        "key 2 must decode to at least 32 bytes, not 5",
    ),
    (
        "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS",
        "10.0.0.0/8, intranet",
        f"not an IP network: 'intranet'; {NETWORKS}",
    ),
    (
        "GATEHOUSE_TRUSTED_PROXIES",
        "the-load-balancer",
        f"not an IP network: 'the-load-balancer'; {NETWORKS}",
    ),
    ("GATEHOUSE_FORWARDED_HEADER", "X-Real-IP", "must be X-Forwarded-For or Forwarded"),
    ("GATEHOUSE_UPSTREAM_DEADLINE_SECONDS", "abc", "must be a number from 1 to 30"),
    ("GATEHOUSE_UPSTREAM_DEADLINE_SECONDS", "60", "must be a number from 1 to 30"),
    ("GATEHOUSE_UPSTREAM_BREAKER_SECONDS", "0.5", "must be a number from 1 to 3600"),
    ("GATEHOUSE_UPSTREAM_MIN_RATE", "fast", "must be a whole number from 1 to 1048576"),
    ("GATEHOUSE_UPSTREAM_MAX_IN_FLIGHT", "2.5", "must be a whole number from 1 to 1000"),
    ("GATEHOUSE_UPSTREAM_MAX_WAITING", "-1", "must be a whole number from 0 to 1000"),
    ("GATEHOUSE_UPSTREAM_BREAKER_FAILURES", "0", "must be a whole number from 1 to 1000"),
    ("GATEHOUSE_LOGIN_THREADS", "forty", "must be a whole number from 1 to 1000"),
    ("GATEHOUSE_API_RATE_LIMIT", "lots", "must be a positive whole number"),
    ("GATEHOUSE_PORTAL_URL", "sso.example.com/portal", "must be an absolute URL"),
    ("GATEHOUSE_PURGE_INTERVAL_SECONDS", "1m", "must be a whole number from 0 to 86400"),
    ("GATEHOUSE_AUDIT_RETENTION_DAYS", "0", "must be a whole number from 1 to 36500"),
    *[(variable, "many", "must be a positive whole number") for variable in RATE_LIMIT_VARIABLES],
]


@pytest.mark.parametrize(
    ("variable", "value", "expected"), REFUSALS, ids=[f"{v}={x}" for v, x, _ in REFUSALS]
)
def test_a_bad_value_is_refused_by_its_variable(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path), variable: value})
    assert (refused.value.field, refused.value.message) == (variable, expected)
    assert str(refused.value) == f"{variable}: {expected}"


def test_production_without_a_secret_key_says_what_one_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(
            {
                "GATEHOUSE_ENV": "production",
                "GATEHOUSE_ISSUER": "https://sso.example.com",
                "GATEHOUSE_VAR_DIR": str(tmp_path),
            }
        )
    assert str(refused.value) == (
        f"GATEHOUSE_SECRET_KEY: is required in production: URL-safe base64 of at least 32 "
        f"bytes; {GENERATE}"
    )


def test_a_damaged_development_key_is_named_by_its_file(tmp_path: Path) -> None:
    """Not blamed on GATEHOUSE_SECRET_KEY's value: the variable is unset."""
    (tmp_path / "secret.key").write_text(SHORT_KEY + "\n")
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path)})
    assert str(refused.value) == (
        f"GATEHOUSE_SECRET_KEY: is unset, and the development key in {tmp_path / 'secret.key'} "
        "must decode to at least 32 bytes, not 5; set GATEHOUSE_SECRET_KEY, or remove the file "
        "to have a new one generated (what was encrypted under the old one is then lost)"
    )


def test_a_var_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    """A path through a regular file: refused whoever runs the test (root included)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    var_dir = blocker / "var"
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"GATEHOUSE_VAR_DIR": str(var_dir)})
    assert str(refused.value) == (
        f"GATEHOUSE_VAR_DIR: cannot keep the development secret key in {var_dir / 'secret.key'} "
        "(Not a directory); expected a writable directory, or set GATEHOUSE_SECRET_KEY"
    )
