"""Which names an organization may claim (SECURITY-CATALOGUE D-04).

A public suffix (`com`, `co.uk`, `github.io`: the Mozilla Public Suffix List, bundled with
the `publicsuffixlist` package) is shared by unrelated registrants, and a free-mail domain
(`gmail.com`) by millions of people no organization speaks for: routing either to one
customer's IdP would hand it everyone else's logins. DNS verification would refuse most of
these anyway; refusing the claim says why at once.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList

#: Consumer mailbox providers: claimable by no organization.
FREE_MAIL = frozenset(
    (
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr",
        "live.com", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.co.jp", "yahoo.fr", "ymail.com",
        "rocketmail.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
        "protonmail.com",
        "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "yandex.com", "yandex.ru",
        "mail.ru", "zoho.com", "tutanota.com", "tuta.io", "fastmail.com", "hey.com", "qq.com",
        "163.com", "126.com", "naver.com", "daum.net", "orange.fr", "free.fr", "laposte.net",
        "t-online.de", "libero.it", "seznam.cz",
    )
)  # fmt: skip


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def claim_refusal(name: str) -> str | None:
    """Why `name` (normalised, A-labels) cannot be claimed, or None if it can."""
    if _psl().is_public(name):
        return f"{name} is a public suffix, shared by unrelated owners"
    if name in FREE_MAIL:
        return f"{name} is a free email provider; claim your organization's own domain"
    return None
