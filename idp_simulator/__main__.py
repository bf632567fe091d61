"""`python -m idp_simulator`: serve the simulator on IDP_SIM_HOST:IDP_SIM_PORT (127.0.0.1:7000).
`python -m idp_simulator scim ...` provisions a SCIM service instead (`idp_simulator.scim.cli`).

At start-up it prints the SAML metadata URL and the OIDC issuer and client (with the client
secret when it was generated).

uvicorn catches SIGINT/SIGTERM, finishes in-flight requests, then re-raises the signal into the
handler that was installed before it started. Ours only notes it, so a stop request ends the
process with status 0 instead of "killed by signal 15", which `make run` and the tests expect.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import uvicorn

from idp_simulator.app import create_app
from idp_simulator.config import SimulatorConfig


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["scim"]:
        # Imported here: serving the simulator does not need the SCIM client.
        from idp_simulator.scim.cli import main as scim_main

        raise SystemExit(scim_main(args[1:]))
    try:
        config = SimulatorConfig.from_env()
    except ValueError as exc:
        raise SystemExit(f"idp_simulator: {exc}") from None
    app = create_app(config)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _stopped)
    sys.stdout.write(_banner(config))
    sys.stdout.flush()
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")


def _banner(config: SimulatorConfig) -> str:
    """Where to point a SAML or OIDC connection. A generated client secret is printed because
    nobody could configure the broker's connection otherwise; a secret from the environment
    is already known to whoever set it, so it stays out of logs."""
    lines = [
        f"  IdP simulator metadata:   {config.entity_id}",
        f"  IdP simulator OIDC:       {config.oidc_issuer}",
        f"    client id:              {config.oidc_client_id}",
    ]
    if config.oidc_client_secret_generated:
        lines.append(
            f"    client secret:          {config.oidc_client_secret}"
            " (generated; set IDP_SIM_OIDC_CLIENT_SECRET to keep one)"
        )
    return "".join(f"{line}\n" for line in lines)


def _stopped(signum: int, _frame: FrameType | None) -> None:
    sys.stdout.write(f"  IdP simulator stopped ({signal.Signals(signum).name}).\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
