"""The named things a directory does, each played in any dialect against any SCIM server.

Every scenario starts with the initial sync (idempotent: people and groups already there
are looked up, not created again), so it can be played alone, from the CLI or the page,
against a fresh server or one a previous run filled. Then its action, as its own phase,
and a read-back that checks the server's state is what the directory meant: a server that
answers 200 to `"active": "False"` but leaves the person active is a failure here, which
is the point of the simulator.

| scenario | action |
| --- | --- |
| initial_sync | the sync alone |
| leaver | one person deactivated |
| rename | one person's family name changed |
| email_change | one person's work email (and userName) changed |
| group_churn | half of a group's members removed, members of another group added |
| retried_create | a new person POSTed twice in a row (a retry after a timeout), another |
| | POSTed twice at once: one account each |
| mass_deactivation | half of the people deactivated at once, all read back page by page |
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idp_simulator.scim.client import Answer, Exchange, ScimClient
from idp_simulator.scim.dialect import Dialect, quoted
from idp_simulator.scim.directory import DOMAIN, Directory, SimUser
from idp_simulator.scim.entra import EntraDialect
from idp_simulator.scim.okta import OktaDialect
from idp_simulator.scim.sync import EXPECTED, DirectorySync, Phase, PhaseSummary, run_parallel

__all__ = ["DIALECTS", "SCENARIOS", "ScenarioSummary", "play"]

DIALECTS: dict[str, Callable[[], Dialect]] = {"okta": OktaDialect, "entra": EntraDialect}


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSummary:
    scenario: str
    dialect: str
    phases: tuple[PhaseSummary, ...]
    exchanges: tuple[Exchange, ...]

    @property
    def requests(self) -> int:
        return sum(phase.requests for phase in self.phases)

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f"{phase.name}: {text}" for phase in self.phases for text in phase.failures)

    @property
    def statuses(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for phase in self.phases:
            for status, count in phase.statuses.items():
                total[status] = total.get(status, 0) + count
        return dict(sorted(total.items()))


def _user(sync: DirectorySync, index: int) -> dict[str, Any] | None:
    answer = sync.client.send("GET", f"Users/{sync.user_ids[index]}")
    return answer.body if answer.ok and isinstance(answer.body, dict) else None


def _is_false(value: object) -> bool:
    return value is False


def leaver(sync: DirectorySync) -> None:
    with sync.phase("leaver") as phase:
        index = _first_known(sync, phase)
        if index is None:
            return
        sync.set_active(index, active=False)
        found = _user(sync, index)
        phase.check(
            found is not None and _is_false(found.get("active")),
            f"user {sync.users[index].user_name} is not shown inactive (active: "
            f"{None if found is None else found.get('active')!r})",
        )


def rename(sync: DirectorySync) -> None:
    with sync.phase("rename") as phase:
        index = _first_known(sync, phase)
        if index is None:
            return
        after = sync.users[index].renamed(sync.users[index].family_name + "-Renamed")
        sync.update(after)
        found = _user(sync, index) or {}
        name = found.get("name") if isinstance(found.get("name"), dict) else {}
        phase.check(
            isinstance(name, dict) and name.get("familyName") == after.family_name,
            f"familyName is {name.get('familyName') if isinstance(name, dict) else None!r}, "
            f"not {after.family_name!r}",
        )


def email_change(sync: DirectorySync) -> None:
    with sync.phase("email change") as phase:
        index = _first_known(sync, phase)
        if index is None:
            return
        user = sync.users[index]
        was_active = (_user(sync, index) or {}).get("active")
        after = user.with_email(f"changed.{user.index}.{user.external_id[:6]}@{DOMAIN}")
        sync.update(after)
        found = _user(sync, index) or {}
        emails = found.get("emails") if isinstance(found.get("emails"), list) else []
        values = [e.get("value") for e in emails or [] if isinstance(e, dict)]
        phase.check(after.email in values, f"the new email is not among {values!r}")
        phase.check(user.email not in values, "the old email is still listed")
        phase.check(found.get("userName") == after.user_name, "userName did not follow")
        phase.check(
            found.get("active") == was_active,
            f"active went from {was_active!r} to {found.get('active')!r} with the email",
        )


def group_churn(sync: DirectorySync) -> None:
    with sync.phase("group churn") as phase:
        if not sync.group_ids:
            phase.fail("no group to change")
            return
        group = sync.directory.groups[0]
        group_id = sync.group_ids[group.index]
        current = [sync.user_ids[i] for i in group.members if i in sync.user_ids]
        leaving = current[: len(current) // 2]
        others = sync.directory.groups[1].members if len(sync.directory.groups) > 1 else ()
        joining = [sync.user_ids[i] for i in others[:3] if i in sync.user_ids]
        if leaving:
            sync.dialect.remove_members(sync.client, group_id, leaving)
        if joining:
            sync.dialect.add_members(sync.client, group_id, joining)
        expected = (set(current) - set(leaving)) | set(joining)
        answer = sync.client.send("GET", f"Groups/{group_id}")
        members = answer.body.get("members") if isinstance(answer.body, dict) else None
        found = {m.get("value") for m in members or [] if isinstance(m, dict)}
        phase.check(found == expected, f"members are {len(found)}, expected {len(expected)}")


def retried_create(sync: DirectorySync) -> None:
    """Okta and Entra retry a POST whose answer did not arrive in time; the first may have
    been applied. A conformant server answers the retry 409 `uniqueness` (RFC 7644
    §3.3); either way it must keep one account."""
    with sync.phase("retried create", expected=EXPECTED | {409}) as phase:
        base = len(sync.directory.users)
        late, racing = _newcomer(base), _newcomer(base + 1)
        first = sync.dialect.create_user(sync.client, late)
        second = sync.dialect.create_user(sync.client, late)
        phase.check(first.status == 201, f"the first POST answered {first.status}")
        phase.check(second.status in (201, 409), f"the retry answered {second.status}")
        gate = threading.Barrier(2)

        def post(user: SimUser) -> Answer:
            gate.wait()
            return sync.dialect.create_user(sync.client, user)

        both = run_parallel(post, [racing, racing], 2)
        phase.check(
            sorted(a.status for a in both) in ([201, 409], [201, 201]),
            f"the concurrent POSTs answered {[a.status for a in both]}",
        )
        for user in (late, racing):
            answer = sync.client.send(
                "GET", "Users", params={"filter": f"userName eq {quoted(user.user_name)}"}
            )
            total = answer.body.get("totalResults") if isinstance(answer.body, dict) else None
            phase.check(total == 1, f"{user.user_name}: {total!r} accounts, not 1")


def mass_deactivation(sync: DirectorySync) -> None:
    with sync.phase("mass deactivation") as phase:
        leaving = sorted(sync.user_ids)[: (len(sync.user_ids) + 1) // 2]
        run_parallel(lambda i: sync.set_active(i, active=False), leaving, sync.concurrency)
        listed = sync.dialect.list_users(sync.client, page_size=7)
        ours = {u.get("id"): u for u in listed}
        missing = [i for i in sync.user_ids if sync.user_ids[i] not in ours]
        phase.check(not missing, f"{len(missing)} users missing from the paged listing")
        still = [i for i in leaving if not _is_false(ours.get(sync.user_ids[i], {}).get("active"))]
        phase.check(not still, f"{len(still)} of {len(leaving)} users still shown active")


def _first_known(sync: DirectorySync, phase: Phase) -> int | None:
    if not sync.user_ids:
        phase.fail("no user to change")
        return None
    return min(sync.user_ids)


def _newcomer(index: int) -> SimUser:
    """A person not in the directory (index past its end), unique to this run's target."""
    token = uuid.uuid4().hex[:12]
    email = f"new.{index}.{token}@{DOMAIN}"
    return SimUser(
        index=index,
        external_id=f"retry{index}x{token}",
        user_name=email,
        given_name="New",
        family_name="Hire",
        email=email,
    )


SCENARIOS: dict[str, Callable[[DirectorySync], None] | None] = {
    "initial_sync": None,
    "leaver": leaver,
    "rename": rename,
    "email_change": email_change,
    "group_churn": group_churn,
    "retried_create": retried_create,
    "mass_deactivation": mass_deactivation,
}


def play(
    scenario: str,
    client: ScimClient,
    dialect: str,
    directory: Directory,
    *,
    concurrency: int = 8,
) -> ScenarioSummary:
    """The initial sync, then `scenario`'s action. Raises KeyError for an unknown name."""
    action = SCENARIOS[scenario]
    chosen = DIALECTS[dialect]()
    mark = client.mark()
    sync = DirectorySync(client, chosen, directory, concurrency=concurrency)
    sync.sync()
    if action is not None:
        action(sync)
    return ScenarioSummary(
        scenario=scenario,
        dialect=chosen.name,
        phases=tuple(sync.summaries),
        exchanges=tuple(client.since(mark)),
    )
