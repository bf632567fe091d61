"""`python -m bench.logins` (the driver of `make bench`, issue 18's measurement) at a tiny
size: every protocol's rows in the final table, with per-endpoint CPU, the floor and the
ratio, and PostgreSQL's CPU when on PostgreSQL; with `--https-idp` the +tls rows too. The
figures are only checked to be figures: no timed assertion."""

from __future__ import annotations

import os
import threading
import time

import pytest

from bench.logins import main
from bench.postgres_cpu import spent_ns
from bench.servers import ThreadCpu, thread_cpu_ns

pytestmark = pytest.mark.e2e

_TINY = ["--logins", "5", "--warmup", "1", "--concurrency", "1", "--floor-iterations", "5"]
_COLUMNS = 15


def _rows(out: str) -> dict[str, list[str]]:
    """The table's rows by protocol label (the lines after the dashed rule)."""
    lines = out.splitlines()
    rule = max(i for i, line in enumerate(lines) if line and set(line) == {"-"})
    rows = {}
    for line in lines[rule + 1 :]:
        cells = line.split()
        if cells:
            assert len(cells) == _COLUMNS, line
            rows[cells[0]] = cells
    return rows


def _figures(cells: list[str], *, postgres: bool) -> None:
    """Every cell after the label a number, except PG CPU ("-" unless on PostgreSQL)."""
    for index, cell in enumerate(cells[1:], start=1):
        if index == 13 and not postgres:
            assert cell == "-"
        else:
            assert float(cell) >= 0, cells


def test_both_protocols_over_http_and_an_https_idp_on_sqlite(capsys) -> None:
    status = main([*_TINY, "--https-idp"])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = _rows(out)
    assert sorted(rows) == ["oidc", "oidc+tls", "saml", "saml+tls"]
    for cells in rows.values():
        assert cells[1] == "1"
        _figures(cells, postgres=False)
    assert "xmlsec verify x2" in out  # the floor verified the captured SAMLResponse
    assert "simulator https://127.0.0.1:" in out


@pytest.mark.postgres
def test_postgresql_cpu_is_reported_beside_gatehouses(postgres_url: str, capsys) -> None:
    status = main([*_TINY, "--protocol", "saml", "--database-url", postgres_url])
    out = capsys.readouterr().out
    assert status == 0, out
    rows = _rows(out)
    assert list(rows) == ["saml"]
    _figures(rows["saml"], postgres=True)
    assert "database: PostgreSQL (schema gh_bench_" in out


def test_cpu_readers_read_this_process() -> None:
    assert thread_cpu_ns(os.getpid()) > 0
    assert spent_ns({1: 5, 2: 7}, {1: 9, 3: 4}) == 8  # a new backend counts from zero


def test_a_thread_that_ends_keeps_what_it_spent_in_the_reading() -> None:
    """anyio's idle worker threads end between phases; the reading must not fall back."""
    cpu = ThreadCpu(os.getpid())
    burned = threading.Event()

    def burn() -> None:
        deadline = time.thread_time() + 0.05
        while time.thread_time() < deadline:
            pass
        burned.set()
        time.sleep(0.2)  # read while still alive, then end

    worker = threading.Thread(target=burn)
    worker.start()
    burned.wait()
    with_worker = cpu.read_ns()
    worker.join()
    assert thread_cpu_ns(os.getpid()) < with_worker  # the plain sum lost the ended thread
    assert cpu.read_ns() >= with_worker
