"""Organizations and their email domains."""

from __future__ import annotations

from typing import Any

import click

from broker.cli.api_json import api_json
from broker.cli.root import (
    CLI_ACTOR,
    cli,
    emit,
    find_organization,
    management,
    unit_of_work,
)
from broker.management.api.domains import domain_out
from broker.management.api.organizations import organization_out
from broker.management.domains import dns_record
from broker.management.errors import ResourceNotFound
from broker.model.records import Domain, Organization


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


@cli.group()
def orgs() -> None:
    """Organizations: your customers, each with its domains and identity providers."""


@orgs.command("create")
@click.option("--name", required=True)
@click.option("--external-id", default=None, help="Your own key for this customer (unique).")
@click.option("--json", "as_json", is_flag=True)
def orgs_create(name: str, external_id: str | None, as_json: bool) -> None:
    """Create an organization and print its id."""
    with management() as use_cases:
        organization = use_cases.organizations.create(CLI_ACTOR, name=name, external_id=external_id)
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


@orgs.command("delete")
@click.argument("org_ref", metavar="ORG")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the organization as it was.")
def orgs_delete(org_ref: str, yes: bool, as_json: bool) -> None:
    """Delete ORG (id or external id) with its domains, connections, users and portal
    links: from then on no login routes to it."""
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    if not yes:
        click.confirm(
            f"Delete {organization.id} ({organization.name}) with its domains, connections, "
            "users and portal links?",
            abort=True,
        )
    with management() as use_cases:
        use_cases.organizations.delete(CLI_ACTOR, organization.id)
    emit(
        as_json,
        api_json(organization_out(organization)),
        [f"deleted {organization.id} ({organization.name})"],
    )


@cli.group()
def domains() -> None:
    """Email domains: a verified domain routes its users' logins to its organization."""


@domains.command("add")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True)
def domains_add(org_ref: str, domain: str, as_json: bool) -> None:
    """Claim DOMAIN for an organization and print the DNS TXT record that proves it.

    A claim routes nothing until verified. Several organizations may claim a name; once
    one has verified it, no other may claim it."""
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    with management() as use_cases:
        claimed = use_cases.domains.add(CLI_ACTOR, organization.id, domain)
    record = dns_record(claimed)
    assert record is not None
    emit(
        as_json,
        {
            **_domain_json(claimed),
            "verification": {"type": "TXT", "name": record.name, "value": record.value},
        },
        [
            f"claimed {claimed.name} for {organization.id}; not verified, so it routes no "
            "logins yet",
            "Publish this DNS record, then run `gatehouse domains verify`:",
            f"  {record.name}  TXT  {record.value}",
        ],
    )


@domains.command("verify")
@click.option("--org", "org_ref", required=True, help="Organization id or external id.")
@click.argument("domain")
@click.option(
    "--operator",
    is_flag=True,
    help="Skip the DNS check: you assert, as operator, that the organization owns DOMAIN.",
)
@click.option("--json", "as_json", is_flag=True)
def domains_verify(org_ref: str, domain: str, operator: bool, as_json: bool) -> None:
    """Verify DOMAIN for the organization by resolving its DNS TXT record.

    A verified domain routes every login for it to this organization's IdP, and its
    addresses are sent to your app as `email_verified`. `--operator` marks it verified
    without DNS, on your word (recorded as such in the audit log)."""
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    with management() as use_cases:
        try:
            before = use_cases.domains.get(organization.id, domain)
        except ResourceNotFound as exc:
            raise click.ClickException(
                f"{domain} is not claimed by {organization.id}; run "
                f"`gatehouse domains add --org {org_ref} {domain}` first"
            ) from exc
        if operator:
            verified = use_cases.domains.mark_verified(CLI_ACTOR, organization.id, domain)
        else:
            outcome = use_cases.domains.verify(CLI_ACTOR, organization.id, domain)
            if outcome.failure is not None:
                record = dns_record(outcome.domain)
                publish = f"; publish {record.name} TXT {record.value}" if record else ""
                raise click.ClickException(
                    f"{before.name} is not verified ({outcome.failure}: {outcome.detail})" + publish
                )
            verified = outcome.domain
    if before.is_verified:
        lines = [f"{verified.name} was already verified for {organization.id}"]
    else:
        how = "on your word as operator" if operator else "by its DNS TXT record"
        lines = [f"{verified.name} is now verified for {organization.id} ({how})"]
    emit(as_json, _domain_json(verified), lines)


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


@domains.command("delete")
@click.option("--org", "org_ref", required=True, metavar="ORG", help="Id or external id.")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print the domain as it was.")
def domains_delete(org_ref: str, domain: str, as_json: bool) -> None:
    """Release DOMAIN from ORG (id or external id): it stops routing logins at once."""
    with unit_of_work() as uow:
        organization = find_organization(uow, org_ref)
    with management() as use_cases:
        released = use_cases.domains.get(organization.id, domain)
        use_cases.domains.delete(CLI_ACTOR, organization.id, released.name)
    emit(
        as_json,
        api_json(domain_out(released)),
        [f"released {released.name} from {organization.id}"],
    )
