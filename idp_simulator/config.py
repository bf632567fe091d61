"""The simulator's configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_ALLOWED_ACS", "DEFAULT_HOST", "DEFAULT_PORT", "SimulatorConfig"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7000
DEFAULT_ALLOWED_ACS = ("http://127.0.0.1", "http://localhost")


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Where the simulator lives and whom it will answer.

    `allowed_acs_prefixes` bounds where signed assertions may be posted: without it the
    simulator would sign a login for any site that sends it an AuthnRequest.
    """

    base_url: str
    key_dir: Path | None
    allowed_acs_prefixes: tuple[str, ...]
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must be http(s): {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.allowed_acs_prefixes:
            raise ValueError("at least one allowed ACS URL prefix is needed")

    @property
    def entity_id(self) -> str:
        """The IdP entity ID, which is also where its metadata is served."""
        return f"{self.base_url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SimulatorConfig:
        """`IDP_SIM_BASE_URL` (default `http://127.0.0.1:<port>`), `IDP_SIM_KEY_DIR`,
        `IDP_SIM_HOST`, `IDP_SIM_PORT` and `IDP_SIM_ALLOWED_ACS` (comma-separated)."""
        env = os.environ if environ is None else environ
        host = env.get("IDP_SIM_HOST", "").strip() or DEFAULT_HOST
        port = _port(env.get("IDP_SIM_PORT", "").strip() or str(DEFAULT_PORT))
        base_url = env.get("IDP_SIM_BASE_URL", "").strip() or f"http://127.0.0.1:{port}"
        key_dir = env.get("IDP_SIM_KEY_DIR", "").strip()
        allowed = tuple(
            prefix.strip()
            for prefix in env.get("IDP_SIM_ALLOWED_ACS", ",".join(DEFAULT_ALLOWED_ACS)).split(",")
            if prefix.strip()
        )
        return cls(
            base_url=base_url,
            key_dir=Path(key_dir) if key_dir else None,
            allowed_acs_prefixes=allowed,
            host=host,
            port=port,
        )


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError(f"IDP_SIM_PORT must be a TCP port, not {value!r}")
    return port
