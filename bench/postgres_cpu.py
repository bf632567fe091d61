"""PostgreSQL's own CPU per login (issue 18, item 1), beside Gatehouse's.

Gatehouse's connections carry an `application_name` the bench chose (`bench.servers`), so
`pg_stat_activity` names the backend processes serving them; their CPU is read from
/proc/<pid>/schedstat (a backend is one single-threaded process), which works when the
server runs on this machine, as the bench's 127.0.0.1 server does. A backend that starts
during a run counts from zero. One that ends during it (a pool's overflow connection, closed
when it is checked in) would take its time with it, so `Sampling` reads every
`interval` seconds during a run and keeps each backend's last reading. WAL writer,
checkpointer and other background processes are not counted: they serve every database on
the server.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

from broker.store.sql import make_engine


class BackendCpu:
    """Reads the CPU of the backends serving one `application_name`."""

    def __init__(self, database_url: str, application_name: str) -> None:
        self._engine = make_engine(database_url)
        self._name = application_name

    def close(self) -> None:
        self._engine.dispose()

    def snapshot(self) -> dict[int, int]:
        """pid → ns on CPU, for every backend now serving the application name; empty if
        /proc does not show them (a server on another machine or in another namespace)."""
        with self._engine.connect() as db:
            pids = db.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": self._name},
            ).scalars()
            found = {}
            for pid in pids:
                try:
                    found[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
                except (OSError, IndexError, ValueError):
                    continue
            return found

    def readable(self) -> bool:
        """Whether this machine's /proc shows the server's backends."""
        return bool(self.snapshot())


def spent_ns(before: Mapping[int, int], after: Mapping[int, int]) -> int:
    """CPU the backends spent between two snapshots (a new backend counts from zero)."""
    return sum(ns - before.get(pid, 0) for pid, ns in after.items())


class Sampling:
    """The CPU the backends spent while the block ran, read every `interval` seconds in a
    thread so that a backend ending in between still counts up to its last reading."""

    def __init__(self, reader: BackendCpu, interval: float = 0.05) -> None:
        self._reader = reader
        self._interval = interval
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="pg-cpu", daemon=True)

    def __enter__(self) -> Sampling:
        self._first = self._reader.snapshot()
        self._last = dict(self._first)
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._reader.snapshot())

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self._last.update(self._reader.snapshot())

    def spent_ns(self) -> int:
        return spent_ns(self._first, self._last)
