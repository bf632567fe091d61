"""The commands login clients and management clients share: rotate a secret, revoke the
previous one, disable and enable. Written once, so the two groups cannot drift apart; each
group passes the use cases of its own kind of client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import click

from broker.cli.root import CLI_ACTOR, emit, unit_of_work
from broker.clock import SystemClock
from broker.errors import ConfigError
from broker.store import NotFound, UnitOfWork


class Rotated(Protocol):
    @property
    def client_secret(self) -> str | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretAdmin:
    """One kind of client: its group's name and what its use cases are."""

    group: str  # as typed: `gatehouse <group> revoke-secret`
    kind: str  # in messages: "client", "management client"
    rotate: Callable[..., Rotated]
    revoke_previous: Callable[..., object]
    set_disabled: Callable[..., object]
    #: What rotating asks of the operator in between, and what disabling refuses.
    switch_over: str
    disabled_means: str


def add_secret_commands(group: click.Group, admin: SecretAdmin) -> None:
    def change(client_id: str, use_case: Callable[..., Any], **arguments: Any) -> Any:
        with _changing(admin, client_id) as uow:
            return use_case(uow, client_id, now=SystemClock().now(), actor=CLI_ACTOR, **arguments)

    @group.command(
        "rotate-secret",
        help="Add a new secret (printed once); the old one keeps working until "
        f"`revoke-secret`. {admin.switch_over}",
    )
    @click.argument("client_id")
    @click.option("--json", "as_json", is_flag=True)
    def rotate_secret(client_id: str, as_json: bool) -> None:
        rotated: Rotated = change(client_id, admin.rotate)
        emit(
            as_json,
            {"client_id": client_id, "client_secret": rotated.client_secret},
            [
                f"client_id:     {client_id}",
                f"client_secret: {rotated.client_secret}   (shown once; store it now)",
                "the previous secret stays valid until: "
                f"gatehouse {admin.group} revoke-secret {client_id}",
            ],
        )

    @group.command(
        "revoke-secret",
        help="Stop accepting the older of the client's two secrets (refused if it has one).",
    )
    @click.argument("client_id")
    def revoke_secret(client_id: str) -> None:
        change(client_id, admin.revoke_previous)
        click.echo(f"{client_id}: the previous secret no longer works; only the newest one does")

    @group.command("disable", help=f"{admin.disabled_means} until it is enabled again.")
    @click.argument("client_id")
    def disable(client_id: str) -> None:
        change(client_id, admin.set_disabled, disabled=True)
        click.echo(f"disabled {client_id}")

    @group.command("enable", help="Accept the client again, with the secrets it had.")
    @click.argument("client_id")
    def enable(client_id: str) -> None:
        change(client_id, admin.set_disabled, disabled=False)
        click.echo(f"enabled {client_id}")


@contextmanager
def _changing(admin: SecretAdmin, client_id: str) -> Iterator[UnitOfWork]:
    """One unit of work for one change, refusals as one-line messages."""
    try:
        with unit_of_work() as uow:
            yield uow
    except NotFound as exc:
        raise click.ClickException(f"no {admin.kind} {client_id!r}") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
