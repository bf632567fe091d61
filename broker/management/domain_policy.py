"""Which names an organization may claim (SECURITY-CATALOGUE D-04, D-06).

A public suffix (`com`, `co.uk`, `github.io`: the Mozilla Public Suffix List, bundled with
the `publicsuffixlist` package) is shared by unrelated registrants, and a free-mail domain
(`gmail.com`, `free_mail.py`) by millions of people no organization speaks for: routing either
to one customer's IdP would hand it everyone else's logins. DNS verification would refuse most
of these anyway; refusing the claim says why at once. The management API, the CLI and the
portal all claim through `Domains.add`, so the refusal and its words are the same at each.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList

from broker.management.free_mail import is_free_mail


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def claim_refusal(name: str) -> str | None:
    """Why `name` (normalised, A-labels) cannot be claimed, or None if it can."""
    if _psl().is_public(name):
        return f"{name} is a public suffix, shared by unrelated owners"
    if is_free_mail(name):
        return (
            f"{name} is a free email provider's domain, shared by everyone with a mailbox "
            "there; claim your organization's own domain"
        )
    return None
