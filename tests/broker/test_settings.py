"""Settings: development shortcuts are loud, production refuses unsafe configuration."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from broker.errors import ConfigError
from broker.settings import Settings
from broker.settings_rate_limits import RATE_LIMIT_VARIABLES, RateLimitSettings

KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


def test_defaults_are_a_loopback_development_setup(tmp_path: Path) -> None:
    settings = Settings.from_env({"GATEHOUSE_VAR_DIR": str(tmp_path)})
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.env == "development"
    assert settings.database.url == f"sqlite:///{tmp_path / 'gatehouse.sqlite3'}"


def test_development_generates_one_secret_key_and_reuses_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"GATEHOUSE_VAR_DIR": str(tmp_path)}
    with caplog.at_level(logging.WARNING):
        first = Settings.from_env(env).secret_key
    assert "DEVELOPMENT MODE" in caplog.text
    assert len(first) == 32
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert Settings.from_env(env).secret_key == first
    assert "generated" not in caplog.text  # said once, when it was generated


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    env = {
        "GATEHOUSE_ENV": "production",
        "GATEHOUSE_ISSUER": "https://sso.example.com",
        "GATEHOUSE_VAR_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="GATEHOUSE_SECRET_KEY"):
        Settings.from_env(env)
    assert not (tmp_path / "secret.key").exists()


def test_production_requires_an_https_issuer(tmp_path: Path) -> None:
    env = {
        "GATEHOUSE_ENV": "production",
        "GATEHOUSE_ISSUER": "http://127.0.0.1:8000",
        "GATEHOUSE_SECRET_KEY": KEY,
        "GATEHOUSE_VAR_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="https"):
        Settings.from_env(env)


def test_production_with_proper_settings_starts(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GATEHOUSE_ENV": "production",
            "GATEHOUSE_ISSUER": "https://sso.example.com",
            "GATEHOUSE_SECRET_KEY": KEY,
            "GATEHOUSE_DATABASE_URL": "postgresql+psycopg://gatehouse@db/gatehouse",
        }
    )
    assert settings.is_production
    assert settings.secret_key == b"k" * 32


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("https://sso.example.com/", "slash"),
        ("https://sso.example.com?x=1", "query"),
        ("ftp://sso.example.com", "https"),
        ("http://sso.example.com", "loopback"),
    ],
)
def test_bad_issuers_are_refused(tmp_path: Path, issuer: str, problem: str) -> None:
    env = {"GATEHOUSE_ISSUER": issuer, "GATEHOUSE_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env(env)


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    env = {"GATEHOUSE_SECRET_KEY": "c2hvcnQ", "GATEHOUSE_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env(env)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="GATEHOUSE_ENV"):
        Settings.from_env({"GATEHOUSE_ENV": "staging"})


def test_demo_credentials_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "GATEHOUSE_VAR_DIR": str(tmp_path),
            "GATEHOUSE_DEMO_CLIENT_ID": "demo",
            "GATEHOUSE_DEMO_CLIENT_SECRET": "x" * 40,
            "GATEHOUSE_DEMO_REDIRECT_URIS": "https://a.test/cb https://b.test/cb",
        }
    )
    assert settings.demo.client_id == "demo"
    assert settings.demo.redirect_uris == ("https://a.test/cb", "https://b.test/cb")


def test_upstream_networks_are_parsed_and_bad_ones_refused(tmp_path: Path) -> None:
    env = {"GATEHOUSE_VAR_DIR": str(tmp_path)}
    settings = Settings.from_env({**env, "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS": "10.0.0.0/8, ::1"})
    assert [str(n) for n in settings.upstream_allowed_networks] == ["10.0.0.0/8", "::1/128"]
    assert Settings.from_env(env).upstream_allowed_networks == ()
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({**env, "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS": "intranet"})
    assert refused.value.field == "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS"


def test_trusted_proxies_and_their_header_are_parsed_and_bad_ones_refused(
    tmp_path: Path,
) -> None:
    env = {"GATEHOUSE_VAR_DIR": str(tmp_path)}
    default = Settings.from_env(env).proxies
    assert (default.trusted, default.header) == ((), "x-forwarded-for")  # no proxy is trusted
    proxies = Settings.from_env(
        {
            **env,
            "GATEHOUSE_TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8",
            "GATEHOUSE_FORWARDED_HEADER": "Forwarded",
        }
    ).proxies
    assert [str(n) for n in proxies.trusted] == ["10.0.0.0/8", "fd00::/8"]
    assert proxies.header == "forwarded"
    for variable, value in [
        ("GATEHOUSE_TRUSTED_PROXIES", "the-load-balancer"),
        ("GATEHOUSE_FORWARDED_HEADER", "X-Real-IP"),
    ]:
        with pytest.raises(ConfigError) as refused:
            Settings.from_env({**env, variable: value})
        assert refused.value.field == variable


def test_rate_limits_come_from_the_environment(tmp_path: Path) -> None:
    env = {"GATEHOUSE_VAR_DIR": str(tmp_path)}
    assert Settings.from_env(env).rate_limits == RateLimitSettings()
    limits = Settings.from_env(
        {**env, "GATEHOUSE_RATE_LIMIT_TOKEN": "5000", "GATEHOUSE_RATE_LIMIT_PORTAL_LINK": "10"}
    ).rate_limits
    assert (limits.token_per_address, limits.portal_link, limits.authorize) == (5000, 10, 600)
    for variable in RATE_LIMIT_VARIABLES:
        for bad in ("0", "-1", "many"):
            with pytest.raises(ConfigError) as refused:
                Settings.from_env({**env, variable: bad})
            assert refused.value.field == variable


def test_old_secret_keys_are_read_in_order_and_blanks_ignored(tmp_path: Path) -> None:
    env = {"GATEHOUSE_SECRET_KEY": KEY, "GATEHOUSE_VAR_DIR": str(tmp_path)}
    assert Settings.from_env(env).old_secret_keys == ()
    older = base64.urlsafe_b64encode(b"o" * 32).decode()
    oldest = base64.urlsafe_b64encode(b"p" * 40).decode()
    settings = Settings.from_env(env | {"GATEHOUSE_SECRET_KEYS_OLD": f" {older},, {oldest} ,"})
    assert settings.old_secret_keys == (b"o" * 32, b"p" * 40)
    assert "o" * 32 not in repr(settings)  # field(repr=False), like the current key
