"""What a person's verified identity must satisfy before the organization's application
may hear of it: small checks, in order, each a reason of its own.

1. The email is in one of the organization's verified domains (D-02): an IdP may assert any
   address, and only a verified domain makes it the organization's to vouch for.
2. Google's `hd` (the Workspace the account lives in), when the IdP sends one, is a verified
   domain of the organization too, whatever the email says (R-16).

The login applies them after the answer's signature and claims verified, and before the
flow is consumed or anything is recorded, so a refusal leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from broker.model.names import email_domain
from broker.model.reasons import Reason
from broker.model.records import UpstreamIdentity


@dataclass(frozen=True, slots=True)
class PolicyRefusal:
    reason: Reason
    detail: str


Check = Callable[[UpstreamIdentity, Collection[str]], PolicyRefusal | None]


def email_in_a_verified_domain(
    upstream: UpstreamIdentity, verified: Collection[str]
) -> PolicyRefusal | None:
    domain = email_domain(upstream.email or "")
    if domain is None or domain not in verified:
        return PolicyRefusal(
            Reason.EMAIL_DOMAIN_NOT_VERIFIED, f"email domain {domain!r} not verified"
        )
    return None


def hosted_domain_verified(
    upstream: UpstreamIdentity, verified: Collection[str]
) -> PolicyRefusal | None:
    if upstream.hosted_domain is not None and upstream.hosted_domain not in verified:
        return PolicyRefusal(Reason.HOSTED_DOMAIN_NOT_VERIFIED, f"hd {upstream.hosted_domain!r}")
    return None


CHECKS: tuple[Check, ...] = (email_in_a_verified_domain, hosted_domain_verified)


def first_refusal(upstream: UpstreamIdentity, verified: Collection[str]) -> PolicyRefusal | None:
    """The first check `upstream` fails, in order; None when it passes them all."""
    for check in CHECKS:
        refusal = check(upstream, verified)
        if refusal is not None:
            return refusal
    return None
