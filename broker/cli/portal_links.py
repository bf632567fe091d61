"""Portal links: the magic link an app team sends a customer's IT admin, from the command
line, through the same use cases (and the same answer fields) as the management API."""

from __future__ import annotations

import click

from broker.cli.api_json import api_json
from broker.cli.root import CLI_ACTOR, cli, emit, find_organization, management, unit_of_work
from broker.management.api.portal_links import PortalLinkCreated, PortalLinkOut, link_out
from broker.management.portal_links import (
    DEFAULT_FEATURES,
    DEFAULT_MAX_USES,
    DEFAULT_TTL_SEC,
    MAX_MAX_USES,
    MAX_TTL_SEC,
    MIN_TTL_SEC,
)
from broker.model.management import PORTAL_FEATURES, PortalLink

_PAGE = 100


def _organization_id(org_ref: str) -> str:
    with unit_of_work() as uow:
        return find_organization(uow, org_ref).id


@cli.group("portal-links")
def portal_links() -> None:
    """Links that let a customer's IT admin set up their SSO in the admin portal."""


@portal_links.command("create")
@click.argument("org_ref", metavar="ORG")
@click.option("--profile", "profile_id", default=None, help="A self-service profile id.")
@click.option(
    "--connection", "connection_id", default=None, help="Edit this connection (needs sso)."
)
@click.option(
    "--ttl-sec",
    type=click.IntRange(MIN_TTL_SEC, MAX_TTL_SEC),
    default=DEFAULT_TTL_SEC,
    show_default=True,
    help="Seconds the link stays valid.",
)
@click.option(
    "--max-uses",
    type=click.IntRange(1, MAX_MAX_USES),
    default=DEFAULT_MAX_USES,
    show_default=True,
    help="Portal sessions the link may open.",
)
@click.option(
    "--feature",
    "features",
    multiple=True,
    type=click.Choice(PORTAL_FEATURES),
    help="Repeat; default: sso and domain_verification (directory_sync only when named).",
)
@click.option("--json", "as_json", is_flag=True)
def portal_links_create(
    org_ref: str,
    profile_id: str | None,
    connection_id: str | None,
    ttl_sec: int,
    max_uses: int,
    features: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create a link for ORG (id or external id) and print its URL: shown only this once,
    and stored only as a hash."""
    organization_id = _organization_id(org_ref)
    with management() as use_cases:
        issued = use_cases.portal_links.create(
            CLI_ACTOR,
            organization_id,
            profile_id=profile_id,
            connection_id=connection_id,
            ttl_sec=ttl_sec,
            max_uses=max_uses,
            enabled_features=features or DEFAULT_FEATURES,
        )
        now = use_cases.deps.clock.now()
    created = PortalLinkCreated.model_validate(link_out(issued.link, now) | {"url": issued.url})
    link = issued.link
    emit(
        as_json,
        api_json(created),
        [
            issued.url,
            "",
            f"{link.id}: {', '.join(link.enabled_features)}; up to {link.max_uses} uses; "
            f"expires {link.expires_at.isoformat()}",
            "Send the URL to the IT admin now: it is shown only this once.",
        ],
    )


@portal_links.command("list")
@click.argument("org_ref", metavar="ORG")
@click.option("--json", "as_json", is_flag=True)
def portal_links_list(org_ref: str, as_json: bool) -> None:
    """ORG's links, oldest first, without their URLs (never stored)."""
    organization_id = _organization_id(org_ref)
    found: list[PortalLink] = []
    with management() as use_cases:
        while True:
            after = (found[-1].created_at, found[-1].id) if found else None
            page = use_cases.portal_links.page(organization_id, after=after, limit=_PAGE)
            found += page
            if len(page) < _PAGE:
                break
        now = use_cases.deps.clock.now()
    items = [PortalLinkOut.model_validate(link_out(link, now)) for link in found]
    emit(
        as_json,
        {"items": [api_json(item) for item in items]},
        [
            f"{i.id}  {i.status}  {i.uses}/{i.max_uses} uses  expires {i.expires_at.isoformat()}"
            + (f"  edits {i.connection_id}" if i.connection_id else "")
            for i in items
        ]
        or ["no portal links"],
    )


@portal_links.command("revoke")
@click.argument("org_ref", metavar="ORG")
@click.argument("link_id")
@click.option("--json", "as_json", is_flag=True)
def portal_links_revoke(org_ref: str, link_id: str, as_json: bool) -> None:
    """Revoke a link at once (again: nothing changes)."""
    organization_id = _organization_id(org_ref)
    with management() as use_cases:
        revoked = use_cases.portal_links.revoke(CLI_ACTOR, organization_id, link_id)
        now = use_cases.deps.clock.now()
    out = PortalLinkOut.model_validate(link_out(revoked, now))
    emit(as_json, api_json(out), [f"revoked {revoked.id}"])
