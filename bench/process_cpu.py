"""CPU time of the benchmark's processes, from /proc: a process (`cpu_seconds`), a process
tree (`TreeCpu`: a uvicorn supervisor and its workers), every thread to the nanosecond
(`thread_cpu_ns`, `ThreadCpu`), and pinning a tree to cores (`pin_tree`). Readers that keep
each thread's or process's last reading never go backwards when one ends."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on: `fields[i]` is field i + 3 of proc(5)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    return stat.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (every thread of it), from /proc/<pid>/stat."""
    fields = _stat_fields(pid)
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot; None: no such process), to tell it from
    a later process given the same PID."""
    try:
        return int(_stat_fields(pid)[19])  # field 22 of proc(5)
    except (OSError, IndexError, ValueError):
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` first, then every descendant of it alive now (children, their children...).

    Found by walking /proc for parent PIDs: /proc/<pid>/task/<tid>/children would be
    cheaper, but needs a kernel built with CONFIG_PROC_CHILDREN, which this machine's is
    not. About 2 ms with a hundred processes on the machine."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])  # field 4 of proc(5)
        except (OSError, IndexError, ValueError):
            continue  # it ended while we listed them
        children.setdefault(parent, []).append(int(entry.name))
    tree: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop(0)
        tree.append(current)
        pending.extend(sorted(children.get(current, ())))
    return tree


class TreeCpu:
    """`cpu_seconds` summed over `process_tree(pid)`: a uvicorn supervisor and its workers.
    Each process's last reading is kept, so a process that ends between two readings still
    counts what it had spent at the first (its utime + stime include its ended threads'); a
    process that appears counts from zero. With no children it reads as `cpu_seconds(pid)`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._last: dict[int, float] = {}

    def read_s(self) -> float:
        for process in process_tree(self.pid):
            try:
                self._last[process] = cpu_seconds(process)
            except (OSError, IndexError, ValueError):
                continue  # it ended while we read the tree
        return sum(self._last.values())


def thread_cpu_ns(pid: int) -> int:
    """CPU time of process `pid` in nanoseconds: the sum over its live threads of
    /proc/<pid>/task/<tid>/schedstat's first field (time on CPU). Finer than `cpu_seconds`
    (clock ticks of 10 ms), so one phase of a few requests can be measured; a thread that
    exits takes its time with it, which `ThreadCpu` makes up for across readings."""
    return sum(_threads_cpu_ns(pid).values())


class ThreadCpu:
    """Readings of `thread_cpu_ns` over `process_tree(pid)` (every thread of `pid` and of
    the descendants it has at the reading: a uvicorn supervisor and its workers) that never
    go backwards. anyio's worker threads end after 10 s idle (a phase at concurrency 1 after
    one at 8 leaves seven of them idle), and a thread's schedstat goes with it: summing only
    the live threads, the process would seem to have given CPU back. Each thread's last
    reading is kept, by (pid, tid), so an ended thread or process still counts what it spent
    up to the reading before it ended (what it spent after that, a few idle microseconds, is
    lost); a process that appears counts from zero."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._last: dict[tuple[int, int], int] = {}

    def read_ns(self) -> int:
        for process in process_tree(self.pid):
            for tid, spent in _threads_cpu_ns(process).items():
                self._last[(process, tid)] = spent
        return sum(self._last.values())


def _threads_cpu_ns(pid: int) -> dict[int, int]:
    """Time on CPU per live thread of `pid`, by thread id (none if `pid` has ended)."""
    spent: dict[int, int] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return spent  # the process ended
    for task in tasks:
        try:
            spent[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # the thread ended while we listed them
    return spent


def pin_tree(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` and its descendants onto `cpus` (sched_setaffinity acts on
    one thread; threads started later inherit their creator's)."""
    for process in process_tree(pid):
        for tid in _threads_cpu_ns(process):
            with suppress(OSError):  # it ended meanwhile
                os.sched_setaffinity(tid, cpus)
