"""`python -m bench.logins` (the driver of `make bench`, issue 18's measurement) at a tiny
size: every protocol's rows in the final table, with per-endpoint CPU, the floor and the
ratio, and PostgreSQL's CPU when on PostgreSQL; with `--https-idp` the +tls rows too; with
`--workers 1 2` a row per worker count and the growth line. The figures are only checked to
be figures: no timed assertion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time

import pytest

from bench.instructions import main as instructions_main
from bench.logins import cpu_placement, main
from bench.postgres_cpu import spent_ns
from bench.process_cpu import ThreadCpu, TreeCpu, pin_tree, process_tree, thread_cpu_ns
from bench.stack_cost import TRANSACTIONS_PER_LOGIN
from tests.support.tiers import missing_dependency

pytestmark = pytest.mark.e2e

_TINY = ["--logins", "5", "--warmup", "1", "--concurrency", "1", "--floor-iterations", "5"]
_COLUMNS = 16
_PG_CPU = 14  # the column's index


def _rows(out: str) -> dict[str, list[str]]:
    """The table's rows by protocol label and worker count, "saml w1" (the lines after the
    dashed rule, up to a blank line)."""
    lines = out.splitlines()
    rule = max(i for i, line in enumerate(lines) if line and set(line) == {"-"})
    rows = {}
    for line in lines[rule + 1 :]:
        cells = line.split()
        if not cells:
            break
        assert len(cells) == _COLUMNS, line
        rows[f"{cells[0]} w{cells[1]}"] = cells
    return rows


def _figures(cells: list[str], *, postgres: bool) -> None:
    """Every cell after the label a number, except PG CPU ("-" unless on PostgreSQL)."""
    for index, cell in enumerate(cells[1:], start=1):
        if index == _PG_CPU and not postgres:
            assert cell == "-"
        else:
            assert float(cell) >= 0, cells


def test_both_protocols_over_http_and_an_https_idp_on_sqlite(capsys) -> None:
    status = main([*_TINY, "--https-idp"])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = _rows(out)
    assert sorted(rows) == ["oidc w1", "oidc+tls w1", "saml w1", "saml+tls w1"]
    for cells in rows.values():
        assert cells[2] == "1"  # concurrency
        _figures(cells, postgres=False)
    assert "xmlsec verify x2" in out  # the floor verified the captured SAMLResponse
    for protocol in ("saml", "oidc"):  # what the stack itself takes of a login
        assert re.search(
            rf"^{protocol}: stack per login [\d.]+ ms = 4 requests x [\d.]+ .* 4 thread hops "
            rf"x [\d.]+ \+ {TRANSACTIONS_PER_LOGIN[protocol]} empty transactions x [\d.]+$",
            out,
            re.MULTILINE,
        ), out
    assert "simulator https://127.0.0.1:" in out


@pytest.mark.postgres
def test_postgresql_cpu_is_reported_beside_gatehouses(postgres_url: str, capsys) -> None:
    status = main([*_TINY, "--protocol", "saml", "--database-url", postgres_url])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = _rows(out)
    assert list(rows) == ["saml w1"]
    _figures(rows["saml w1"], postgres=True)
    assert "database: PostgreSQL (schema gh_bench_" in out


def test_one_and_two_uvicorn_workers_side_by_side(capsys) -> None:
    status = main([*_TINY, "--protocol", "saml", "--workers", "1", "2"])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = _rows(out)
    assert list(rows) == ["saml w1", "saml w2"]
    for cells in rows.values():
        _figures(cells, postgres=False)
    assert "2 workers: pids [" in out
    assert "logins/s with 2 workers ÷ with 1: saml conc 1 " in out
    cpus = len(os.sched_getaffinity(0))
    if cpus < 4:
        assert f"{cpus} CPUs, 2 broker worker(s) + simulator + client = 4 processes: the " \
            "figures share cores (not pinned)" in out  # fmt: skip


def test_cpu_placement_only_when_every_run_has_cores_of_its_own() -> None:
    assert cpu_placement([0, 1], 1, 2) is None
    assert cpu_placement([0, 1, 2], 1, 2) is None  # the 2-worker run would share
    assert cpu_placement([0, 1, 2, 3], 1, 2) == ({0}, {2, 3})
    assert cpu_placement([0, 1, 2, 3], 2, 2) == ({0, 1}, {2, 3})


_BURNER = """
import sys, time
deadline = time.process_time() + 0.2
while time.process_time() < deadline:
    pass
print("burned", flush=True)
sys.stdin.read()
"""


def test_the_tree_readers_count_a_child_process_and_keep_it_when_it_ends() -> None:
    """A uvicorn supervisor's CPU is little; its workers' is the broker's."""
    threads, processes = ThreadCpu(os.getpid()), TreeCpu(os.getpid())
    threads_before, processes_before = threads.read_ns(), processes.read_s()
    child = subprocess.Popen(
        [sys.executable, "-c", _BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"burned\n"
        assert child.pid in process_tree(os.getpid())
        with_child_ns, with_child_s = threads.read_ns(), processes.read_s()
        assert with_child_ns - threads_before >= 200_000_000
        assert with_child_s - processes_before >= 0.15  # clock ticks: 10 ms each
    finally:
        child.communicate(b"")  # it ends
    assert child.pid not in process_tree(os.getpid())
    assert threads.read_ns() >= with_child_ns
    assert processes.read_s() >= with_child_s


def test_pinning_a_tree_pins_every_thread_of_the_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)  # fmt: skip
    try:
        cpu = min(os.sched_getaffinity(0))
        pin_tree(child.pid, {cpu})
        assert os.sched_getaffinity(child.pid) == {cpu}
    finally:
        child.communicate(b"")


def test_cpu_readers_read_this_process() -> None:
    assert thread_cpu_ns(os.getpid()) > 0
    assert spent_ns({1: 5, 2: 7}, {1: 9, 3: 4}) == 8  # a new backend counts from zero


def test_a_thread_that_ends_keeps_what_it_spent_in_the_reading() -> None:
    """anyio's idle worker threads end between phases; the reading must not fall back."""
    cpu = ThreadCpu(os.getpid())
    burned = threading.Event()

    def burn() -> None:
        deadline = time.thread_time() + 0.3
        while time.thread_time() < deadline:
            pass
        burned.set()
        time.sleep(0.2)  # read while still alive, then end

    worker = threading.Thread(target=burn)
    worker.start()
    burned.wait()
    with_worker = cpu.read_ns()
    worker.join()
    # Without the last readings, the sum would fall by the 0.3 s the ended thread spent
    # (other threads of this process spend far less meanwhile).
    assert cpu.read_ns() >= with_worker


def test_instructions_per_login_are_counted_under_callgrind(capsys) -> None:
    if shutil.which("valgrind") is None:
        missing_dependency("valgrind is not installed (apt-get install valgrind)")
    status = instructions_main(["--protocol", "saml", "--logins", "1", "--warmup", "1"])
    out = capsys.readouterr().out
    assert status == 0, out
    figure = re.search(r"saml: ([0-9.]+) M instructions per login", out)
    assert figure is not None, out
    assert float(figure.group(1)) > 1  # a login is millions of instructions, never zero
