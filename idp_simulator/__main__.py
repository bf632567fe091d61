"""`python -m idp_simulator`: serve the simulator on IDP_SIM_HOST:IDP_SIM_PORT (127.0.0.1:7000).

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


def main() -> None:
    try:
        config = SimulatorConfig.from_env()
    except ValueError as exc:
        raise SystemExit(f"idp_simulator: {exc}") from None
    app = create_app(config)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _stopped)
    sys.stdout.write(f"  IdP simulator metadata:   {config.entity_id}\n")
    sys.stdout.flush()
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")


def _stopped(signum: int, _frame: FrameType | None) -> None:
    sys.stdout.write(f"  IdP simulator stopped ({signal.Signals(signum).name}).\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
