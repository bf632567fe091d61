"""Domains: claim, prove by DNS, list, release (docs/security.md, "Domains and email
addresses").

A claim is inert until verified: it routes no login and vouches for no email (D-01). To
verify, the organization publishes `gatehouse-domain-verification=<token>` as a TXT record
at `_gatehouse-challenge.<domain>`; Gatehouse resolves it itself. The token is random per
claim, so one organization's record never verifies another's claim, and a name verified by
one organization is refused to every other (409).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace

from broker.management import scoped
from broker.management.deps import ManagementDeps, record
from broker.management.dns_txt import TxtLookupError
from broker.management.domain_policy import claim_refusal
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.names import InvalidDomain, normalize_domain
from broker.model.opaque import new_secret
from broker.model.records import Domain
from broker.store import AlreadyExists, NotFound
from broker.upstream.base import UpstreamUnavailable

CHALLENGE_PREFIX = "_gatehouse-challenge"
VALUE_PREFIX = "gatehouse-domain-verification="


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """What the organization publishes to prove it controls the domain."""

    type: str
    #: The record's full name, `_gatehouse-challenge.acme.com`.
    name: str
    value: str
    #: The same name within the domain's zone, `_gatehouse-challenge`: what a DNS console
    #: that adds the domain to the name itself wants (most do).
    host: str


@dataclass(frozen=True, slots=True)
class Verification:
    domain: Domain
    #: None when verified; else `record_not_found`, `value_mismatch`, `timeout`,
    #: `resolver_error` or `verified_by_another_organization`.
    failure: str | None = None
    detail: str = ""


def dns_record(domain: Domain) -> DnsRecord | None:
    if domain.verification_token is None:
        return None
    return DnsRecord(
        type="TXT",
        name=f"{CHALLENGE_PREFIX}.{domain.name}",
        value=f"{VALUE_PREFIX}{domain.verification_token}",
        host=CHALLENGE_PREFIX,
    )


def record_found(values: list[str], record: DnsRecord) -> bool:
    """Whether the TXT strings at the record's name include its value (the daily
    re-check of `broker.jobs` asks the same question as the first verification).
    Compared as bytes: a TXT string is any bytes (RFC 1035 §3.3.14), and `compare_digest`
    raises TypeError on a str that is not ASCII."""
    expected = record.value.encode()
    return any(hmac.compare_digest(v.strip().encode(), expected) for v in values)


def parse_domain_name(raw: str, pointer: str = "/name") -> str:
    try:
        name = normalize_domain(raw)
    except InvalidDomain as exc:
        raise InvalidInput.at(pointer, f"invalid domain {raw.strip()!r}: {exc}") from exc
    refusal = claim_refusal(name)
    if refusal is not None:
        raise InvalidInput.at(pointer, refusal)
    return name


class Domains:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def add(self, actor: str, organization_id: str, raw_name: str) -> Domain:
        name = parse_domain_name(raw_name)
        domain = Domain(
            organization_id=organization_id,
            name=name,
            verification_token=new_secret(),
            created_at=self._deps.clock.now(),
        )
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            try:
                uow.domains.find_verified(name)
            except NotFound:
                pass
            else:
                raise ResourceConflict(f"{name} is verified by another organization")
            try:
                uow.domains.add(domain)
            except AlreadyExists as exc:
                raise ResourceConflict(f"{name} is already claimed by this organization") from exc
            record(uow, self._deps, "domain.added", actor=actor,
                   organization_id=organization_id, domain=name)  # fmt: skip
        return domain

    def get(self, organization_id: str, name: str) -> Domain:
        with self._deps.store.unit_of_work() as uow:
            return scoped.domain(uow, organization_id, name)

    def page(self, organization_id: str, *, after: str | None, limit: int) -> list[Domain]:
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            return list(uow.domains.page(organization_id, after=after, limit=limit))

    def delete(self, actor: str, organization_id: str, name: str) -> None:
        with self._deps.store.unit_of_work() as uow:
            claim = scoped.domain(uow, organization_id, name)
            uow.domains.delete(organization_id, claim.name)
            record(uow, self._deps, "domain.deleted", actor=actor,
                   organization_id=organization_id, domain=claim.name)  # fmt: skip

    def verify(self, actor: str, organization_id: str, name: str) -> Verification:
        """Resolve the TXT record and, when it carries this claim's token, mark the claim
        verified. A failure is an outcome, not an error: it is recorded with its reason
        (`domain.verification_failed`) and returned, so the caller can show what to fix."""
        claim = self.get(organization_id, name)
        if claim.is_verified:
            return Verification(claim)
        record_to_find = dns_record(claim)
        assert record_to_find is not None  # claims made here always carry a token
        try:
            # The customer's DNS answers: a deadline (the resolver's lifetime) and the
            # organization's bulkhead, as every call to what a customer controls has.
            with self._deps.bulkheads.slot(f"setup:{organization_id}", breaker=False):
                values = self._deps.dns.txt(record_to_find.name)
        except TxtLookupError as exc:
            return self._failed(actor, claim, exc.reason, exc.detail)
        except UpstreamUnavailable:
            detail = "this organization's earlier checks are still waiting on DNS"
            return self._failed(actor, claim, "timeout", detail)
        if not record_found(values, record_to_find):
            found = ", ".join(repr(v[:80]) for v in values[:3])
            return self._failed(actor, claim, "value_mismatch", f"found {found}")
        return self._mark_verified(actor, claim, method="dns")

    def mark_verified(self, actor: str, organization_id: str, name: str) -> Domain:
        """An operator's assertion that the organization owns the domain (the CLI's
        `domains verify --operator`), recorded as such."""
        claim = self.get(organization_id, name)
        if claim.is_verified:
            return claim
        outcome = self._mark_verified(actor, claim, method="operator_assertion")
        if outcome.failure is not None:
            raise ResourceConflict(outcome.detail)
        return outcome.domain

    def _mark_verified(self, actor: str, claim: Domain, *, method: str) -> Verification:
        verified = replace(claim, verified_at=self._deps.clock.now(), verified_by=method)
        with self._deps.store.unit_of_work() as uow:
            try:
                uow.domains.save(verified)
            except AlreadyExists:
                failure = "verified_by_another_organization"
                detail = f"{claim.name} is verified by another organization"
                record(uow, self._deps, "domain.verification_failed", actor=actor,
                       organization_id=claim.organization_id, reason=failure,
                       domain=claim.name)  # fmt: skip
                return Verification(claim, failure, detail)
            except NotFound as exc:
                raise ResourceNotFound(f"domain {claim.name}") from exc
            record(uow, self._deps, "domain.verified", actor=actor, reason=method,
                   organization_id=claim.organization_id, domain=claim.name)  # fmt: skip
        return Verification(verified)

    def _failed(self, actor: str, claim: Domain, reason: str, detail: str) -> Verification:
        with self._deps.store.unit_of_work() as uow:
            record(uow, self._deps, "domain.verification_failed", actor=actor, reason=reason,
                   organization_id=claim.organization_id, domain=claim.name,
                   detail=detail)  # fmt: skip
        return Verification(claim, reason, detail)
