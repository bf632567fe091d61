"""The table `python -m bench.logins` ends with: one row per protocol (and +tls for the https
IdP) by concurrency and number of uvicorn workers of the broker (`workers`, 1 unless
`--workers`). Every figure is per login, Gatehouse's CPU in ms:

- `CPU` — the broker process's CPU (all threads; with workers, of the supervisor and every
  worker) over the free-running pass ÷ logins;
- `authz`, `return`, `token`, `uinfo` — per endpoint, from the lockstep pass
  (`bench.endpoints`; `return` is the SAML ACS or the OIDC callback); `sum` is their total
  with any CPU between phases (the "idp" phase), to compare with `CPU`;
- `floor` — the cryptography and SQL a login must do (`bench.floor`), and `CPU÷floor`;
- `PG CPU` — PostgreSQL's backends serving Gatehouse, when on PostgreSQL (`-` otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.endpoints import EndpointCpu
from bench.floor import Floor

if TYPE_CHECKING:  # bench.logins imports this module
    from bench.logins import RunResult

_COLUMNS = (
    ("protocol", 9), ("workers", 7), ("conc", 4), ("logins/s", 8), ("p50 ms", 7), ("p99 ms", 7),
    ("CPU", 6), ("authz", 6), ("return", 6), ("token", 6), ("uinfo", 6), ("sum", 6),
    ("floor", 6), ("CPU÷floor", 9), ("PG CPU", 6), ("sim CPU", 7),
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One protocol at one concurrency and worker count: both passes and the protocol's
    floor."""

    label: str
    run: RunResult
    endpoints: EndpointCpu
    floor: Floor
    workers: int = 1

    def cells(self) -> tuple[str, ...]:
        r, e = self.run, self.endpoints
        cpu_ms = r.broker_cpu_s * 1000 / r.logins
        postgres = "-" if r.postgres_cpu_s is None else f"{r.postgres_cpu_s * 1000 / r.logins:.2f}"
        return (
            self.label,
            str(self.workers),
            str(r.concurrency),
            f"{r.per_second:.1f}",
            f"{r.percentile(50):.1f}",
            f"{r.percentile(99):.1f}",
            f"{cpu_ms:.2f}",
            *(f"{e.ms_per_login(phase):.2f}" for phase in ("authorize", "idp_return")),
            *(f"{e.ms_per_login(phase):.2f}" for phase in ("token", "userinfo")),
            f"{e.total_ms_per_login:.2f}",
            f"{self.floor.total_ms:.2f}",
            f"{cpu_ms / self.floor.total_ms:.1f}" if self.floor.total_ms else "-",
            postgres,
            f"{r.simulator_cpu_s * 1000 / r.logins:.2f}",
        )


def table(rows: Sequence[Row]) -> str:
    """The rows under a header, columns right-aligned; a legend line first."""
    header = "  ".join(f"{name:>{width}}" for name, width in _COLUMNS)
    lines = [
        "Per login, CPU in ms. CPU: Gatehouse (free-running); authz/return/token/uinfo: "
        "Gatehouse per endpoint (lockstep);",
        "sum: all lockstep phases; floor: crypto + SQL a login needs; PG CPU: PostgreSQL "
        "backends; sim CPU: the IdP simulator.",
        header,
        "-" * len(header),
    ]
    for row in rows:
        lines.append(
            "  ".join(
                f"{cell:>{width}}" for cell, (_, width) in zip(row.cells(), _COLUMNS, strict=True)
            )
        )
    return "\n".join(lines)


def side_by_side(rows: list[Row], concurrency: Sequence[int], workers: Sequence[int]) -> list[Row]:
    """The rows of one label and concurrency next to each other, by worker count (the order
    of labels and concurrencies as run): a single worker count leaves the order as run."""
    labels = list(dict.fromkeys(row.label for row in rows))
    return sorted(
        rows,
        key=lambda row: (
            labels.index(row.label),
            list(concurrency).index(row.run.concurrency),
            list(workers).index(row.workers),
        ),
    )


def growth(rows: Sequence[Row], workers: Sequence[int]) -> list[str]:
    """One line per worker count after the first: logins/s with it ÷ with the first, per
    label and concurrency (empty with a single worker count)."""
    base = workers[0]
    lines = []
    for count in dict.fromkeys(workers[1:]):
        if count == base:
            continue
        ratios = []
        for row in rows:
            if row.workers != count:
                continue
            first = next(
                (
                    other
                    for other in rows
                    if other.workers == base
                    and other.label == row.label
                    and other.run.concurrency == row.run.concurrency
                ),
                None,
            )
            if first is not None:
                ratio = row.run.per_second / first.run.per_second
                ratios.append(f"{row.label} conc {row.run.concurrency} {ratio:.2f}x")
        lines.append(f"logins/s with {count} workers ÷ with {base}: " + ", ".join(ratios))
    return lines
