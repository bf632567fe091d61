"""The broker under cProfile, for the benchmark only: `python -m bench.profiled_broker --port P`.

Same app as `uvicorn --factory broker.app:create_app_from_env` (built from the same
environment). When BENCH_PROFILE names a file, every thread is profiled: the event loop
thread (routing, middleware, templates) and the thread pool where Starlette runs the broker's
blocking work. The app is built before profiling starts, so start-up (key loading) is not
counted. On SIGTERM or SIGINT uvicorn drains, returns, and the merged statistics are written
to BENCH_PROFILE (`pstats` format). With BENCH_PROFILE_CPU=1 each thread is timed by its
own CPU clock (`time.thread_time`) instead of the wall clock: a thread waiting for SQLite's
write lock or the network then costs nothing, so the profile shows where CPU goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from broker.app import create_app_from_env

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_CPU_CLOCK = os.environ.get("BENCH_PROFILE_CPU") == "1"


def _new_profile() -> cProfile.Profile:
    return cProfile.Profile(time.thread_time) if _CPU_CLOCK else cProfile.Profile()


def _profile_this_thread(_frame: FrameType, _event: str, _arg: Any) -> None:
    """Installed by `threading.setprofile`: the first event in a new thread replaces this
    hook with a cProfile profiler of its own for that thread."""
    profile = _new_profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal into the previous handler once it has drained;
    ignoring it there lets `main` go on to write the profile."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    output = os.environ.get("BENCH_PROFILE")
    app = create_app_from_env()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _ignore)
    if not output:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
        return
    threading.setprofile(_profile_this_thread)
    main_profile = _new_profile()
    _profiles.append(main_profile)
    main_profile.enable()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        main_profile.disable()
        threading.setprofile(None)
        with _lock:
            profiles = list(_profiles)
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            stats.add(profile)
        stats.dump_stats(output)


def print_profile(path: Path, top: int) -> None:
    """The `top` entries of a profile this module wrote, by own time and by cumulative."""
    for order in ("tottime", "cumulative"):
        stats = pstats.Stats(str(path), stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(top)


if __name__ == "__main__":
    main()
