"""Test configuration values, importable without Starlette's TestClient (spawned worker
processes import this)."""

from __future__ import annotations

from typing import Any

from broker.settings import DatabaseSettings, Settings

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
    }
    values.update(overrides)
    return Settings(**values)
