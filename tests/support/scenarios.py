"""The shape of the scenario tables: one row per IdP simulator scenario, holding everything
every tier expects of it, so that a scenario's outcome is written once.

The tables are data, `saml_scenarios.toml` and `oidc_scenarios.toml` beside this module,
read here into `SAML` and `OIDC` (a row naming no scenario the simulator has, or a key no
row type has, fails at import); the assertions the tiers make with a row are in
`scenario_checks`. The tiers that read them:

- in process, on SQLite and PostgreSQL (tests/broker/upstream/{saml,oidc}/
  test_login_scenarios.py): every refused row, and the replay;
- the portal's test logins (tests/admin_portal/test_results_scenarios.py): every row's
  diagnosis;
- real HTTP on loopback (tests/e2e/test_{saml,oidc}_real_http.py): the success and every
  refused row, each chosen by the address typed in the demo app, on SQLite.

Every refusal of an IdP's answer shows Gatehouse's own error page, whose button takes the
person back to the relying party with the row's `error`, its reason code and the page's
reference, `state` and `iss`; no code is ever issued. A refusal of the flow itself (a
replay into a spent flow) stays a page with no way back.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from idp_simulator.oidc.scenarios import OidcScenario
from idp_simulator.saml.scenarios import Scenario


@dataclass(frozen=True)
class Refusal:
    """How Gatehouse refuses an answer: the reason of the `login.failed` event it records, a
    text of the error page the person is shown, and that page's status. `detail`, when
    set, is a text the event's detail must hold. `error` and `code`: what the relying party
    is told through the page's button back to it, the OAuth error and the public reason
    code its `error_description` starts with; absent when the refusal stays a page
    (nothing proves who is asking: broker/login/returns.py)."""

    reason: str
    page: str
    status: int
    detail: str | None = None
    error: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Replay:
    """The same answer arriving a second time (the simulator's replay).

    `same_flow`: sent again into the login it answered, whose flow is spent. `new_flow`: the
    reason recorded when it is posted into a fresh login's flow instead, as the portal's test
    login does; a SAML assertion is then caught by the replay cache, an OIDC code by the
    IdP's token endpoint, which redeems a code once."""

    same_flow: Refusal
    new_flow: str


@dataclass(frozen=True)
class Diagnosis:
    """What the result page of a portal test login with this scenario shows.

    `shows` are texts on the page, with `{placeholders}` the portal tier fills (values that
    depend on the connection). `evidence`: whether the page shows what the IdP sent; only an
    answer whose signature verified is shown, as anyone can write an unsigned one. `absent`
    are texts that must not be on the page; `sent`, how many required attributes it marks
    as sent."""

    title: str
    _: KW_ONLY
    evidence: bool
    shows: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    sent: int | None = None


@dataclass(frozen=True)
class Row:
    """One simulator scenario and what each tier expects of it. `refusal` is None when a
    login with it is accepted."""

    scenario: StrEnum
    refusal: Refusal | None
    diagnosis: Diagnosis
    _: KW_ONLY
    replay: Replay | None = None

    @property
    def stored_reason(self) -> str | None:
        """The reason a portal test login with this scenario stores (None: it passed)."""
        if self.replay is not None:
            return self.replay.new_flow
        return None if self.refusal is None else self.refusal.reason


Table = Mapping[str, Row]


def load(name: str, scenarios: type[StrEnum]) -> tuple[Table, str]:
    """The table in `<name>_scenarios.toml`, by scenario name in the file's order, and the
    text that starts what a result page shows of the IdP's answer."""
    data = tomllib.loads((Path(__file__).parent / f"{name}_scenarios.toml").read_text())
    rows = [_row(fields, scenarios) for fields in data["row"]]
    return {str(row.scenario): row for row in rows}, str(data["evidence"])


def _row(fields: Mapping[str, Any], scenarios: type[StrEnum]) -> Row:
    fields = dict(fields)
    refusal = fields.pop("refusal", None)
    replay = fields.pop("replay", None)
    return Row(
        scenarios(fields.pop("scenario")),
        None if refusal is None else Refusal(**refusal),
        Diagnosis(**_tuples(fields.pop("diagnosis"))),
        replay=None
        if replay is None
        else Replay(Refusal(**replay["same_flow"]), new_flow=replay["new_flow"]),
        **fields,
    )


def _tuples(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}


def by_scenario(row: Row) -> str:
    """A row's test id (`ids=by_scenario` in a parametrize): its scenario's name."""
    return str(row.scenario)


def refused(rows: Table) -> list[Row]:
    """The rows a login ends in a refusal for."""
    return [row for row in rows.values() if row.refusal is not None]


def statuses(rows: Iterable[Row]) -> list[int]:
    """The statuses of the refused rows' error pages, sorted: the ways a refusal reaches the
    person (400, the answer failed a check; 403, the IdP or the policy said no)."""
    return sorted(row.refusal.status for row in rows if row.refusal is not None)


SAML, SAML_EVIDENCE = load("saml", Scenario)
OIDC, OIDC_EVIDENCE = load("oidc", OidcScenario)
