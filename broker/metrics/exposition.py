"""What a scrape answers, in Prometheus' text format.

One process (the default, and `gatehouse serve --workers 1`): the process-wide registry,
which holds every metric of `broker.metrics.recording` (and prometheus_client's own process
and Python metrics), plus the app's database pool read at the moment of the scrape
(`PoolCollector`).

Several workers (`gatehouse serve --workers N`): the scrape reaches one worker, or the
separate listener in the process that started them, so it cannot read the others' memory.
Each worker then keeps its values in files of the shared directory
(`PROMETHEUS_MULTIPROC_DIR`), and a scrape adds up the files of all (`MultiProcessCollector`):
counters and histograms are summed, including those of a worker that has ended, so they
never go backwards. A custom collector would only see the process it runs in, so each worker
writes its pool's use to gauges (`publish_pool`, on every checkout and checkin) whose values
are summed over the live workers (`livesum`); a worker leaving cleanly takes its values out
(`forget_this_process`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Gauge
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

#: Where the workers of one server share their metrics; prometheus_client reads the same
#: variable when it is first imported, and writes files there if it is set.
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, slots=True)
class PoolUse:
    """A database pool's use: connections `checked_out` now, the pool's `size`, and the
    `overflow`: connections open beyond the size (up to SQLAlchemy's `max_overflow`)."""

    checked_out: int
    size: int
    overflow: int


#: Reads the pool now; None for a pool without a size (not a queue pool).
PoolReader = Callable[[], PoolUse | None]

_POOL_METRICS = {
    "checked_out": ("gatehouse_db_pool_checked_out", "Database connections in use now."),
    "size": ("gatehouse_db_pool_size", "Connections the database pool keeps open."),
    "overflow": (
        "gatehouse_db_pool_overflow",
        "Database connections open beyond the pool's size now.",
    ),
}
#: The workers' copies, written only in multiprocess mode (registered nowhere: the
#: multiprocess collector reads their files).
_WORKER_POOL_GAUGES = {
    field: Gauge(name, text, registry=None, multiprocess_mode="livesum")
    for field, (name, text) in _POOL_METRICS.items()
}


def shared_directory() -> str | None:
    """The workers' shared directory when this process is one of them."""
    return os.environ.get(MULTIPROCESS_VARIABLE) or None


class PoolCollector:
    """The pool's use, read at scrape time."""

    def __init__(self, read: PoolReader) -> None:
        self._read = read

    def collect(self) -> Iterable[Metric]:
        use = self._read()
        if use is None:
            return
        for field, (name, text) in _POOL_METRICS.items():
            yield GaugeMetricFamily(name, text, value=getattr(use, field))


class _Together:
    """Several collectors as one, for one exposition."""

    def __init__(self, *collectors: Collector) -> None:
        self._collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


class Exposition:
    """The text a scrape answers, from this process alone or from every worker's files."""

    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    @classmethod
    def of_workers(cls, directory: str) -> Exposition:
        registry = CollectorRegistry()
        # prometheus_client types its metrics, not its multiprocess module (0.26).
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return cls(registry)

    @classmethod
    def of_app(cls, pool: PoolReader | None) -> Exposition:
        """What an app's `/metrics` answers: every worker's metrics when this process is one
        of several, else this process's, with `pool` read at scrape time."""
        directory = shared_directory()
        if directory is not None:
            return cls.of_workers(directory)
        if pool is None:
            return cls(REGISTRY)
        return cls(_Together(REGISTRY, PoolCollector(pool)))

    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The body and its content type, in the format the scraper's `Accept` asks for
        (OpenMetrics, or Prometheus' text format by default), as prometheus_client's own
        handlers negotiate it."""
        encode, content_type = choose_encoder(accept)
        return encode(self._collector), content_type


def publish_pool(use: PoolUse | None) -> None:
    """A worker's pool use, for the sum over the live workers (multiprocess mode)."""
    if use is None:
        return
    for field, gauge in _WORKER_POOL_GAUGES.items():
        gauge.set(getattr(use, field))


def forget_this_process() -> None:
    """A worker leaving: its pool is no longer in use (counters keep what it counted)."""
    directory = shared_directory()
    if directory is not None:
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
