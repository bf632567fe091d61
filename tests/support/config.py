"""Test configuration values, importable without Starlette's TestClient (spawned worker
processes import this)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from broker.settings import DatabaseSettings, Settings
from broker.settings_jobs import JobSettings
from broker.settings_rate_limits import RateLimitSettings
from broker.settings_retention import RetentionSettings

ISSUER = "https://gatehouse.test"
RP_CALLBACK = "https://rp.test/callback"
PUBLIC_CALLBACK = "http://127.0.0.1:9999/cb"
TEST_SECRET_KEY = b"test-only-master-key-not-secret!"


def make_settings(tmp_path: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "env": "development",
        "database": DatabaseSettings(url="sqlite:///unused"),
        "secret_key": TEST_SECRET_KEY,
        "var_dir": tmp_path,
        # No background purge in an app a test starts with its lifespan (`with
        # TestClient(app)`): it would delete rows the test's fixed clock has expired while
        # the test looks at them. Tests of the purge loop set an interval of their own.
        "retention": RetentionSettings(purge_interval=timedelta(0)),
        # Nor the scheduled jobs' tick, for the same reason: tests run them by hand.
        "jobs": JobSettings(tick=timedelta(0)),
    }
    values.update(overrides)
    return Settings(**values)


_MANY = 10**6
#: Rate limits no test's traffic reaches: for tests whose many requests all come from one
#: address (a fuzzer, a flood standing in for many attackers), where the limits are not
#: what is tested.
OUT_OF_REACH = RateLimitSettings(
    authorize=_MANY, login=_MANY, callback=_MANY, token_per_address=_MANY,
    token_per_client=_MANY, portal_link=_MANY, portal_link_all=_MANY, scim_auth_failures=_MANY,
)  # fmt: skip
