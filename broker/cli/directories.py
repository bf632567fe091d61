"""`gatehouse directories ...`: SCIM directories from the command line, through the same
use cases and answer fields as the management API. The token is printed by `create` and
`rotate-token` only, once."""

from __future__ import annotations

from datetime import timedelta

import click

from broker.cli.api_json import api_json
from broker.cli.root import CLI_ACTOR, cli, emit, management
from broker.management.api.directories import (
    DirectoryGroupOut,
    DirectoryOut,
    DirectoryUserOut,
    DirectoryWithToken,
    directory_out,
    group_out,
    user_out,
)
from broker.model.directories import Directory

_PAGE = 100


@cli.group("directories")
def directories() -> None:
    """SCIM directories: an organization's IdP provisions its users and groups into one."""


def _line(d: DirectoryOut) -> str:
    where = f"org {d.organization_id}  {d.name}  link by {d.link_key}"
    return f"{d.id}  {d.state}  {where}  {d.scim_base_url}"


@directories.command("create")
@click.argument("organization_id")
@click.option("--name", required=True, help="What the IT admin calls it: Okta, Entra ID.")
@click.option(
    "--link-key",
    type=click.Choice(["email", "external_id", "subject"]),
    default="email",
    show_default=True,
    help="How a directory user is matched to an SSO login.",
)
@click.option("--json", "as_json", is_flag=True)
def directories_create(organization_id: str, name: str, link_key: str, as_json: bool) -> None:
    """Create ORGANIZATION_ID's directory and print its SCIM token: shown only this once."""
    with management() as use_cases:
        issued = use_cases.directories.create(
            CLI_ACTOR, organization_id=organization_id, name=name, link_key=link_key
        )
        issuer = use_cases.deps.issuer
    out = DirectoryWithToken.model_validate(
        directory_out(issued.directory, issuer) | {"token": issued.token}
    )
    hint = "Paste the base URL and the token into the IdP now: the token is shown only once."
    emit(as_json, api_json(out), [issued.token, "", _line(out), hint])


@directories.command("list")
@click.option("--org", "organization_id", default=None, help="Only this organization's.")
@click.option("--json", "as_json", is_flag=True)
def directories_list(organization_id: str | None, as_json: bool) -> None:
    """Every directory, oldest first (never a token)."""
    found: list[Directory] = []
    with management() as use_cases:
        while True:
            after = (found[-1].created_at, found[-1].id) if found else None
            page = use_cases.directories.page(
                organization_id=organization_id, after=after, limit=_PAGE
            )
            found += page
            if len(page) < _PAGE:
                break
        issuer = use_cases.deps.issuer
    items = [DirectoryOut.model_validate(directory_out(d, issuer)) for d in found]
    emit(
        as_json,
        {"items": [api_json(i) for i in items]},
        [_line(i) for i in items] or ["no directories"],
    )


@directories.command("rotate-token")
@click.argument("directory_id")
@click.option(
    "--overlap-hours", type=click.IntRange(0, 168), default=24, show_default=True,
    help="How long the previous token keeps working.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
def directories_rotate(directory_id: str, overlap_hours: int, as_json: bool) -> None:
    """Print a new token (shown only this once); the previous one works for the overlap."""
    with management() as use_cases:
        issued = use_cases.directories.rotate_token(
            CLI_ACTOR, directory_id, overlap=timedelta(hours=overlap_hours)
        )
        issuer = use_cases.deps.issuer
    out = DirectoryWithToken.model_validate(
        directory_out(issued.directory, issuer)
        | {"token": issued.token, "previous_token_expires_at": issued.previous_expires_at}
    )
    emit(
        as_json,
        api_json(out),
        [issued.token, "", f"the previous token works until {issued.previous_expires_at}"],
    )


@directories.command("revoke")
@click.argument("directory_id")
def directories_revoke(directory_id: str) -> None:
    """Revoke every token of the directory now (rotate to issue a working one)."""
    with management() as use_cases:
        revoked = use_cases.directories.revoke(CLI_ACTOR, directory_id)
    click.echo(f"revoked {revoked} token(s) of {directory_id}")


@directories.command("delete")
@click.argument("directory_id")
def directories_delete(directory_id: str) -> None:
    """Delete a directory with its users, groups and tokens."""
    with management() as use_cases:
        use_cases.directories.delete(CLI_ACTOR, directory_id)
    click.echo(f"deleted {directory_id}")


@directories.command("users")
@click.argument("directory_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def directories_users(directory_id: str, limit: int, as_json: bool) -> None:
    """The users the IdP pushed, in creation order."""
    with management() as use_cases:
        found = use_cases.directories.users(directory_id, start=0, limit=limit)
    items = [DirectoryUserOut.model_validate(user_out(u)) for u in found.items]
    lines = [
        f"{u.id}  {'active' if u.active else 'INACTIVE'}  {u.user_name}  {u.email or '-'}"
        for u in items
    ]
    emit(as_json, {"total": found.total, "items": [api_json(i) for i in items]},
         [*lines, f"{found.total} user(s)"])  # fmt: skip


@directories.command("groups")
@click.argument("directory_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def directories_groups(directory_id: str, limit: int, as_json: bool) -> None:
    """The groups the IdP pushed, in creation order."""
    with management() as use_cases:
        found = use_cases.directories.groups(directory_id, start=0, limit=limit)
    items = [DirectoryGroupOut.model_validate(group_out(g)) for g in found.items]
    emit(as_json, {"total": found.total, "items": [api_json(i) for i in items]},
         [*[f"{g.id}  {g.display_name}" for g in items], f"{found.total} group(s)"])  # fmt: skip
