"""The directory the workers of one `gatehouse serve --workers N` share their metrics in.

prometheus_client decides when it is first imported whether a process keeps its values in
memory or in files of `PROMETHEUS_MULTIPROC_DIR`, so the variable must be set before the
workers start (uvicorn spawns them: fresh interpreters that inherit the environment). The
directory is new for every start, so no file of an earlier run's workers is added to this
one's counts, private to the user the server runs as (mode 0700), and removed when the
server stops. It is under the var directory
when that is writable (next to the development database and key, where an operator looks),
else in the system's temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from broker.metrics.exposition import MULTIPROCESS_VARIABLE

PREFIX = "metrics-"


@contextmanager
def shared_by_workers(var_dir: Path) -> Iterator[str]:
    """A fresh directory, named in the environment while the block runs (the workers are
    started in it); removed after."""
    parent = var_dir if var_dir.is_dir() and os.access(var_dir, os.W_OK) else None
    directory = tempfile.mkdtemp(prefix=PREFIX, dir=parent)  # mode 0700
    previous = os.environ.get(MULTIPROCESS_VARIABLE)
    os.environ[MULTIPROCESS_VARIABLE] = directory
    try:
        yield directory
    finally:
        if previous is None:
            os.environ.pop(MULTIPROCESS_VARIABLE, None)
        else:
            os.environ[MULTIPROCESS_VARIABLE] = previous
        shutil.rmtree(directory, ignore_errors=True)
