"""Organizations and their email domains."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from broker.cli.root import (
    cli,
    emit,
    find_organization,
    unit_of_work,
)
from broker.clock import SystemClock
from broker.domain.model import AuditEvent, Domain, Organization
from broker.domain.names import InvalidDomain, normalize_domain
from broker.domain.opaque import new_id
from broker.store import AlreadyExists, NotFound, UnitOfWork


def _organization_json(organization: Organization) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "external_id": organization.external_id,
        "created_at": organization.created_at.isoformat(),
    }


def _domain_json(domain: Domain) -> dict[str, Any]:
    return {
        "name": domain.name,
        "organization_id": domain.organization_id,
        "verified": domain.is_verified,
        "verified_at": domain.verified_at.isoformat() if domain.verified_at else None,
    }


def _domain_name(raw: str) -> str:
    try:
        return normalize_domain(raw)
    except InvalidDomain as exc:
        raise click.ClickException(f"invalid domain {raw!r}: {exc}") from exc


@cli.group()
def orgs() -> None:
    """Organizations: your customers, each with its domains and identity providers."""


@orgs.command("create")
@click.option("--name", required=True)
@click.option("--external-id", default=None, help="Your own key for this customer (unique).")
@click.option("--json", "as_json", is_flag=True)
def orgs_create(name: str, external_id: str | None, as_json: bool) -> None:
    """Create an organization and print its id."""
    organization = Organization(
        id=new_id("org"), name=name, external_id=external_id, created_at=SystemClock().now()
    )
    try:
        with unit_of_work() as uow:
            uow.organizations.add(organization)
    except AlreadyExists as exc:
        raise click.ClickException(
            f"external id {external_id!r} is already used by another organization"
        ) from exc
    emit(as_json, _organization_json(organization), [organization.id])


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    with unit_of_work() as uow:
        found = uow.organizations.list()
    emit(
        as_json,
        {"organizations": [_organization_json(o) for o in found]},
        [f"{o.id}  {o.name}  {o.external_id or '-'}" for o in found] or ["no organizations"],
    )


@cli.group()
def domains() -> None:
    """Email domains: a verified domain routes its users' logins to its organization."""


@domains.command("add")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True)
def domains_add(org_ref: str, domain: str, as_json: bool) -> None:
    """Claim DOMAIN for an organization (unverified: it routes nothing until verified).
    Several organizations may claim a name; only one can have it verified."""
    name = _domain_name(domain)
    now = SystemClock().now()
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
        claimed = Domain(organization_id=organization.id, name=name, created_at=now)
        try:
            uow.domains.add(claimed)
        except AlreadyExists as exc:
            raise click.ClickException(
                f"{name} is already claimed by this organization ({organization.id})"
            ) from exc
        holder = _verified_holder(uow, name)
    shown = name if name == domain.strip().lower() else f"{name} (typed as {domain.strip()!r})"
    lines = [f"claimed {shown} for {organization.id}; not verified, so it routes no logins yet"]
    if holder is not None:
        lines.append(
            f"note: {name} is verified by another organization ({holder}); this claim "
            "cannot be verified while that one stands"
        )
    emit(as_json, _domain_json(claimed), lines)


def _verified_holder(uow: UnitOfWork, name: str) -> str | None:
    """The organization that has `name` verified, if any."""
    try:
        return uow.domains.find_verified(name).organization_id
    except NotFound:
        return None


@domains.command("verify")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True)
def domains_verify(org_ref: str, domain: str, as_json: bool) -> None:
    """Mark DOMAIN verified for the organization, on your word as operator.

    Verification by DNS TXT record comes later. Until then this is an assertion that the
    organization owns the domain: a verified domain routes every login for it to this
    organization's IdP, and its addresses are sent to your app as `email_verified`.
    """
    name = _domain_name(domain)
    now = SystemClock().now()
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
        try:
            current = uow.domains.get(organization.id, name)
        except NotFound as exc:
            raise click.ClickException(
                f"{name} is not claimed by {organization.id}; run "
                f"`gatehouse domains add --org {org_ref} {name}` first"
            ) from exc
        already = current.is_verified
        if not already:
            current = replace(current, verified_at=now)
            try:
                uow.domains.save(current)
            except AlreadyExists as exc:
                holder = _verified_holder(uow, name) or "another organization"
                raise click.ClickException(
                    f"{name} is already verified by another organization ({holder}): a "
                    "domain routes to at most one organization"
                ) from exc
            uow.audit.record(
                AuditEvent(
                    at=now,
                    kind="domain.verified",
                    actor="cli",
                    reason="operator_assertion",
                    organization_id=organization.id,
                    detail={"domain": name, "method": "cli"},
                )
            )
    if already:
        lines = [f"{name} was already verified for {organization.id}"]
    else:
        lines = [
            f"{name} is now verified for {organization.id}",
            "note: this is your assertion as operator; DNS TXT verification comes later",
        ]
    emit(as_json, _domain_json(current), lines)


@domains.command("list")
@click.option("--org", "org_ref", default=None, help="Only this organization's domains.")
@click.option("--json", "as_json", is_flag=True)
def domains_list(org_ref: str | None, as_json: bool) -> None:
    with unit_of_work() as uow:
        organization_id = find_organization(uow, org_ref).id if org_ref else None
        found = uow.domains.list(organization_id=organization_id)
    emit(
        as_json,
        {"domains": [_domain_json(d) for d in found]},
        [
            f"{d.name}  {d.organization_id}  {'verified' if d.is_verified else 'unverified'}"
            for d in found
        ]
        or ["no domains"],
    )
