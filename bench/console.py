"""What every benchmark command does at its edges: print a line at once (the runs are long),
and turn SIGTERM into SystemExit so the `with` blocks stop every process they started."""

from __future__ import annotations

import signal
import sys
from types import FrameType


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def stop_on_sigterm() -> None:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
