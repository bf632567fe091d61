"""The simulator's configuration, read once from the environment at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_ALLOWED_ACS",
    "DEFAULT_HOST",
    "DEFAULT_OIDC_CLIENT_ID",
    "DEFAULT_PORT",
    "SimulatorConfig",
    "new_client_secret",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7000
DEFAULT_ALLOWED_ACS = ("http://127.0.0.1", "http://localhost")
DEFAULT_OIDC_CLIENT_ID = "gatehouse"


def new_client_secret() -> str:
    """A random OIDC client secret (256 bits): the simulator has no built-in default secret,
    so a copy of it running somewhere reachable does not accept a published one."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Where the simulator lives and whom it will answer.

    `allowed_acs_prefixes` bounds where signed assertions may be posted and where OIDC codes
    may be sent: without it the simulator would sign a login for any site that asks.

    The OIDC side has one registered client. `oidc_client_secret_generated` records whether
    `from_env` made the secret up, so `python -m idp_simulator` knows to print it.
    """

    base_url: str
    key_dir: Path | None
    allowed_acs_prefixes: tuple[str, ...]
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    oidc_client_id: str = DEFAULT_OIDC_CLIENT_ID
    oidc_client_secret: str = field(default_factory=new_client_secret, repr=False)
    oidc_client_secret_generated: bool = False

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL must be http(s): {self.base_url!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.allowed_acs_prefixes:
            raise ValueError("at least one allowed ACS URL prefix is needed")
        if not self.oidc_client_id or not self.oidc_client_secret:
            raise ValueError("the OIDC client id and secret must not be empty")

    @property
    def entity_id(self) -> str:
        """The IdP entity ID, which is also where its metadata is served."""
        return f"{self.base_url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.base_url}/sso"

    @property
    def oidc_issuer(self) -> str:
        """The OpenID Provider's issuer: compared verbatim by relying parties, so no trailing
        slash is ever added."""
        return f"{self.base_url}/oidc"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SimulatorConfig:
        """`IDP_SIM_BASE_URL` (default `http://127.0.0.1:<port>`), `IDP_SIM_KEY_DIR`,
        `IDP_SIM_HOST`, `IDP_SIM_PORT`, `IDP_SIM_ALLOWED_ACS` (comma-separated),
        `IDP_SIM_OIDC_CLIENT_ID` (default `gatehouse`) and `IDP_SIM_OIDC_CLIENT_SECRET`
        (default: random, made here once per start)."""
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
        client_id = env.get("IDP_SIM_OIDC_CLIENT_ID", "").strip() or DEFAULT_OIDC_CLIENT_ID
        secret = env.get("IDP_SIM_OIDC_CLIENT_SECRET", "").strip()
        return cls(
            base_url=base_url,
            key_dir=Path(key_dir) if key_dir else None,
            allowed_acs_prefixes=allowed,
            host=host,
            port=port,
            oidc_client_id=client_id,
            oidc_client_secret=secret or new_client_secret(),
            oidc_client_secret_generated=not secret,
        )


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError(f"IDP_SIM_PORT must be a TCP port, not {value!r}")
    return port
