# The tables below are names in many scripts, written as they are typed: the lookalike
# warnings (RUF001, RUF003) would fire on every Cyrillic and Greek one. The lookalikes the
# rule is about are spelled as escapes all the same.
# ruff: noqa: RUF001, RUF003
"""Internationalised names that imitate others cannot be claimed (docs/security.md D-06).

UTS #39's Highly Restrictive level per label (`label_scripts.py`), its digit rule, and its
whole-script confusables against ASCII names (`lookalikes.py`), through the function every
claim goes through (`parse_domain_name`: the normalisation of `broker.model.names`, then the
claim policy). Lookalikes are spelled with escapes where the source would otherwise hide them.
"""

from __future__ import annotations

import unicodedata

import idna
import pytest
import regex

from broker.management.domains import parse_domain_name
from broker.management.errors import InvalidInput
from broker.management.label_scripts import SCRIPTS, label_problem
from broker.management.lookalikes import ascii_prototypes, ascii_skeleton
from broker.model.names import normalize_domain

CYRILLIC_A = "\u0430"
GREEK_RHO = "\u03c1"
ARMENIAN_O = "\u0585"
DEVANAGARI_ONE = "\u0967"
THAI_ONE = "\u0e51"
APPLE_CYRILLIC = "\u0430\u0440\u0440\u04cf\u0435"  # а р р ӏ е
SCOPE_CYRILLIC = "\u0455\u0441\u043e\u0440\u0435"  # ѕ с о р е


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("bücher.example", "Latin with accents"),
        ("münchen.de", "Latin with an umlaut"),
        ("straße.de", "Latin with ß"),
        ("пример.рф", "pure Cyrillic"),
        ("пример123.рф", "Cyrillic with ASCII digits"),
        ("сахар.рф", "Cyrillic that reads as Latin, under a Cyrillic TLD"),
        (f"{APPLE_CYRILLIC}.рф", "idem: the whole name reads as no ASCII name"),
        ("παράδειγμα.gr", "pure Greek"),
        ("ελλάδα.gr", "Greek"),
        ("日本語のサイト.jp", "Japanese: Han + Hiragana + Katakana"),
        ("ソニーsony.jp", "Katakana + Latin (Highly Restrictive allows Latin + Japanese)"),
        ("中国abc.cn", "Han + Latin"),
        ("注音ㄅㄆ.tw", "Han + Bopomofo"),
        ("한국어abc.kr", "Hangul + Latin"),
        ("例子.中国", "Han"),
        ("१२३.भारत", "Devanagari digits"),
        ("भारत11.in", "Devanagari with ASCII digits"),
        ("مثال.مصر", "Arabic"),
        ("דוגמה.il", "Hebrew"),
        ("ตัวอย่าง.th", "Thai"),
        ("bær.dk", "Latin: single-script lookalikes (æ) are not this rule's"),
        ("kırmızı.com.tr", "Latin: dotless i"),
    ],
)
def test_names_in_one_script_can_be_claimed(typed: str, why: str) -> None:
    name = normalize_domain(typed)
    assert name.startswith("xn--") or ".xn--" in name
    assert parse_domain_name(typed) == name, why


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        (f"ex{CYRILLIC_A}mple.com", "mixes Latin and Cyrillic characters in 'ex\u0430mple'"),
        (f"ex{CYRILLIC_A}mple.рф", "mixes Latin and Cyrillic characters"),
        (f"{GREEK_RHO}aypal.com", "mixes Greek and Latin characters"),
        (f"g{ARMENIAN_O}{ARMENIAN_O}gle.com", "mixes Latin and Armenian characters"),
        ("пρимер.ru", "mixes Cyrillic and Greek characters"),
        ("日本дом.jp", "mixes Han and Cyrillic characters"),
        ("ひらがな한글.jp", "mixes Hiragana and Hangul characters"),
        ("пример中国.cn", "mixes Cyrillic and Han characters"),
        (f"a{DEVANAGARI_ONE}1.in", "mixes Latin and Devanagari characters"),
        (f"भारत1{DEVANAGARI_ONE}.in", "mixes digits of different numbering systems"),
        (f"ไทย1{THAI_ONE}.th", "mixes digits of different numbering systems"),
        (f"{APPLE_CYRILLIC}.com", "reads as apple.com"),
        (f"{SCOPE_CYRILLIC}.net", "reads as scope.net"),
        (f"{APPLE_CYRILLIC}.example.com", "reads as apple.example.com"),
        ("сахар.com", "reads as caxap.com"),
        ("ΑΡΡ.gr", "reads as app.gr"),
    ],
)
def test_names_that_imitate_others_are_refused_showing_the_punycode(typed: str, words: str) -> None:
    name = normalize_domain(typed)
    with pytest.raises(InvalidInput) as raised:
        parse_domain_name(typed)
    [error] = raised.value.errors
    assert error.pointer == "/name"
    assert error.detail.startswith(f"{name} (shown as {idna.decode(name)})")
    assert words in error.detail
    assert "UTS #39" in error.detail


def test_a_label_is_checked_by_script_extensions_not_script() -> None:
    """U+30FC (the katakana-hiragana prolonged sound mark) is Common by Script but
    Hiragana/Katakana by Script_Extensions: beside Hangul it is a mix, beside kana it is not."""
    assert label_problem("ラーメン") is None
    problem = label_problem("한ー")
    assert problem is not None
    assert problem.reason == "mixed_scripts"


def test_every_assigned_character_has_a_script_we_know() -> None:
    """SCRIPTS is the list `regex` is asked about; a script missing from it would leave its
    characters with no script at all (refused as mixed). Every assigned character of the
    running Python's Unicode must fall under one of them."""
    assert len(SCRIPTS) == len(set(SCRIPTS))
    union = regex.compile("[" + "".join(rf"\p{{scx={code}}}" for code in SCRIPTS) + "]")
    assigned = "".join(
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) not in ("Cn", "Cs", "Co")
    )
    assert union.sub("", assigned) == ""


def test_the_lookalike_data_is_unicodes() -> None:
    prototypes = ascii_prototypes()
    assert len(prototypes) > 1500
    assert prototypes[CYRILLIC_A] == "a"
    assert prototypes["\u04cf"] == "l"  # Cyrillic palochka
    assert all(not ch.isascii() for ch in prototypes)
    assert ascii_skeleton(APPLE_CYRILLIC) == "apple"
    assert ascii_skeleton("пример") is None  # п has no ASCII prototype
    assert ascii_skeleton("example") == "example"
