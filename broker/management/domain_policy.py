"""Which names an organization may claim (docs/security.md D-04, D-06).

A public suffix (`com`, `co.uk`, `github.io`: the Mozilla Public Suffix List, bundled with
the `publicsuffixlist` package) is shared by unrelated registrants, and a free-mail domain
(`gmail.com`, `free_mail.py`) by millions of people no organization speaks for: routing either
to one customer's IdP would hand it everyone else's logins. DNS verification would refuse most
of these anyway; refusing the claim says why at once. The management API, the CLI and the
portal all claim through `Domains.add`, so the refusal and its words are the same at each.

An internationalised name is refused when a label mixes scripts (`label_scripts.py`), or when
a label in another script than Latin makes the whole name read as an ASCII one
(`lookalikes.py`): such names exist to be mistaken for another. The refusal shows the
punycode, the form that cannot be mistaken.
"""

from __future__ import annotations

from functools import cache

import idna
from publicsuffixlist import PublicSuffixList

from broker.management.free_mail import is_free_mail
from broker.management.label_scripts import label_problem, resolved_scripts, script_extensions
from broker.management.lookalikes import ascii_skeleton


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
    if "xn--" in name:
        return _homograph_refusal(name)
    return None


def _homograph_refusal(name: str) -> str | None:
    """D-06, for a name with IDN labels (UTS #39 §4, §5)."""
    shown = idna.decode(name)
    labels = shown.split(".")
    for label in labels:
        problem = label_problem(label)
        if problem is not None and problem.reason == "mixed_scripts":
            return (
                f"{name} (shown as {shown}) mixes {problem.scripts_in_words()} characters in "
                f"{label!r}; names that mix scripts can imitate other names (Unicode UTS #39), "
                "so they cannot be claimed"
            )
        if problem is not None:
            return (
                f"{name} (shown as {shown}) mixes digits of different numbering systems in "
                f"{label!r} (Unicode UTS #39), so it cannot be claimed"
            )
    lookalike = ascii_skeleton(shown)
    if lookalike is not None and any(_outside_latin(label) for label in labels):
        return (
            f"{name} (shown as {shown}) reads as {lookalike}: every letter of it looks like an "
            "ASCII one (Unicode UTS #39 confusables), so it could pass for that name and "
            "cannot be claimed"
        )
    return None


def _outside_latin(label: str) -> bool:
    """A non-ASCII label in one script, not Latin: a whole-script lookalike candidate.
    (Latin letters that look like other Latin letters, U+0131 for `i`, are a single-script
    confusable: the name is then refused only if it also mixes scripts.)"""
    resolved = resolved_scripts(script_extensions(label))
    return not label.isascii() and resolved is not None and "Latn" not in resolved
