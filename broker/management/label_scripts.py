"""Which scripts a domain label is written in, and whether that mix is safe to claim (D-06).

Unicode Technical Standard #39 ("Unicode Security Mechanisms") §5 defines restriction levels
for identifiers; we apply *Highly Restrictive* to each label of a claimed domain:

- a label whose characters all share one script is fine (`bücher`, `пример`, `παράδειγμα`);
- so are the CJK mixes writing systems really use, which §5.1 folds into one "augmented"
  script each: Han + Hiragana + Katakana (Japanese), Han + Bopomofo, Han + Hangul (Korean),
  also with Latin letters (`ソニーsony`);
- any other mix is refused: Latin + Cyrillic (`example` with U+0430 for its `a`), Latin +
  Greek, and Latin + Armenian, which *Moderately Restrictive* would let through although
  Armenian U+0585, U+057D, U+0581 are Latin `o`, `u`, `g` to the eye. A real name mixes
  scripts inside one label almost never, so the stricter level costs nothing and closes that
  gap.

Characters are classified by their Script_Extensions property (§5.1), through the `regex`
package (`\\p{scx=...}`); the standard library's unicodedata has no Script property. Common
and Inherited characters (digits, the hyphen, combining marks) go with any script; §5.3 then
refuses digits from two numbering systems in one label (ASCII `1` beside Devanagari `१`).
IDNA 2008 (`broker.model.names`) stands in for §5.2's identifier profile: a label reaching
this module has only characters IDNA allows.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import regex

#: Every Script value (ISO 15924 code) the pinned `regex` knows. A test checks that every
#: assigned character belongs to one of them, so a script left out shows up there.
SCRIPTS = (  # noqa: SIM905 (a list of 178 codes reads better as text)
    "Zyyy Zinh Zzzz Latn Grek Cyrl Armn Hebr Arab Syrc Thaa Nkoo Samr Mand Deva Beng Guru Gujr "
    "Orya Taml Telu Knda Mlym Sinh Thai Laoo Tibt Mymr Geor Hang Ethi Cher Cans Ogam Runr Tglg "
    "Hano Buhd Tagb Khmr Mong Limb Tale Talu Bugi Lana Bali Sund Batk Lepc Olck Brai Glag Tfng "
    "Hani Hira Kana Hrkt Bopo Yiii Lisu Vaii Bamu Sylo Phag Saur Kali Rjng Java Cham Tavt Mtei "
    "Linb Lyci Cari Ital Goth Perm Ugar Xpeo Dsrt Shaw Osma Osge Elba Aghb Vith Todr Lina Cprt "
    "Armi Palm Nbat Hatr Phnx Lydi Sidt Mero Merc Khar Sarb Narb Mani Avst Prti Phli Phlp Orkh "
    "Hung Rohg Gara Yezi Sogo Sogd Ougr Chrs Elym Brah Kthi Sora Cakm Mahj Shrd Khoj Mult Sind "
    "Gran Tutg Newa Tirh Sidd Modi Takr Ahom Dogr Wara Diak Nand Zanb Soyo Pauc Sunu Bhks Marc "
    "Gonm Gong Tols Maka Kawi Xsux Pcun Cpmn Egyp Hluw Gukh Mroo Tnsa Bass Hmng Krai Medf Berf "
    "Miao Tang Nshu Kits Jurc Dupl Sgnw Hmnp Toto Wcho Nagm Onao Tayo Mend Adlm Seal Copt"
).split()
#: Names for the scripts a refusal is likely to mention; others are shown by their code.
NAMES = {
    "Latn": "Latin", "Grek": "Greek", "Cyrl": "Cyrillic", "Armn": "Armenian",
    "Hebr": "Hebrew", "Arab": "Arabic", "Deva": "Devanagari", "Beng": "Bengali",
    "Thai": "Thai", "Geor": "Georgian", "Hang": "Hangul", "Hani": "Han", "Hira": "Hiragana",
    "Kana": "Katakana", "Bopo": "Bopomofo", "Ethi": "Ethiopic", "Cher": "Cherokee",
    "Taml": "Tamil", "Telu": "Telugu", "Knda": "Kannada", "Mlym": "Malayalam",
    "Gujr": "Gujarati", "Guru": "Gurmukhi", "Orya": "Oriya", "Sinh": "Sinhala", "Laoo": "Lao",
    "Tibt": "Tibetan", "Mymr": "Myanmar", "Khmr": "Khmer", "Mong": "Mongolian",
    "Thaa": "Thaana", "Syrc": "Syriac", "Copt": "Coptic", "Tfng": "Tifinagh", "Cans":
    "Canadian Aboriginal", "Yiii": "Yi", "Nkoo": "N'Ko", "Adlm": "Adlam", "Zzzz": "unknown",
}  # fmt: skip
_ANY = frozenset({"Zyyy", "Zinh"})  # Common, Inherited: used with every script
#: §5.1's augmentation: a character of one of these is also of the writing systems it serves.
_AUGMENTED = {
    "Hani": {"Hanb", "Jpan", "Kore"},
    "Hira": {"Jpan"},
    "Kana": {"Jpan"},
    "Hrkt": {"Jpan"},
    "Hang": {"Kore"},
    "Bopo": {"Hanb"},
}
_CJK_WRITING_SYSTEMS = frozenset({"Jpan", "Kore", "Hanb"})


@dataclass(frozen=True, slots=True)
class LabelProblem:
    """Why a label cannot be claimed: `mixed_scripts` (with the scripts it mixes) or
    `mixed_digits` (digits of two numbering systems)."""

    reason: str
    label: str
    scripts: tuple[str, ...] = ()

    def scripts_in_words(self) -> str:
        names = [NAMES.get(code, code) for code in self.scripts]
        return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


@cache
def _patterns() -> tuple[tuple[str, regex.Pattern[str]], ...]:
    return tuple((code, regex.compile(rf"\p{{scx={code}}}")) for code in SCRIPTS)


def script_extensions(label: str) -> list[frozenset[str] | None]:
    """Each character's augmented Script_Extensions; None for Common/Inherited (any)."""
    found: list[set[str]] = [set() for _ in label]
    for code, pattern in _patterns():
        for match in pattern.finditer(label):
            found[match.start()].add(code)
    result: list[frozenset[str] | None] = []
    for scripts in found:
        if scripts & _ANY:
            result.append(None)
            continue
        for code in list(scripts):
            scripts |= _AUGMENTED.get(code, set())
        result.append(frozenset(scripts))
    return result


def resolved_scripts(
    sets: Sequence[frozenset[str] | None], *, without: str | None = None
) -> frozenset[str] | None:
    """§5.1's resolved script set: what every character has in common (None: only
    Common/Inherited characters, so any script). `without` leaves out the characters of that
    script, as §5.2 does with Latin for the Highly Restrictive mixes."""
    resolved: frozenset[str] | None = None
    for scripts in sets:
        if scripts is None or (without is not None and without in scripts):
            continue
        resolved = scripts if resolved is None else resolved & scripts
    return resolved


def label_problem(label: str) -> LabelProblem | None:
    """None when `label` (a U-label) meets UTS #39's Highly Restrictive level and uses one
    numbering system; else what is wrong with it."""
    if label.isascii():
        return None
    sets = script_extensions(label)
    resolved = resolved_scripts(sets)
    if resolved is None or (resolved and "Zzzz" not in resolved):
        pass  # a single script (§5.2 steps 3-4)
    elif not (resolved_scripts(sets, without="Latn") or frozenset()) & _CJK_WRITING_SYSTEMS:
        return LabelProblem("mixed_scripts", label, _scripts_seen(sets))
    zeros = {ord(ch) - unicodedata.decimal(ch) for ch in label if _is_digit(ch)}
    if len(zeros) > 1:
        return LabelProblem("mixed_digits", label)
    return None


def _is_digit(ch: str) -> bool:
    return unicodedata.category(ch) == "Nd" and unicodedata.decimal(ch, None) is not None


def _scripts_seen(sets: Sequence[frozenset[str] | None]) -> tuple[str, ...]:
    """The scripts a refused label mixes, in order of first appearance, each character
    counted under its first (non-augmented) script."""
    seen: list[str] = []
    for scripts in sets:
        if scripts is None:
            continue
        main = next((code for code in SCRIPTS if code in scripts), "Zzzz")
        if main not in seen:
            seen.append(main)
    return tuple(seen)
