"""Domain names and email addresses, normalised once, the same way everywhere.

One function decides what a domain is for storage (claiming, verifying), for routing a
typed email (home-realm discovery) and for checking the email an IdP asserts
(docs/security.md D-05..D-09). If two of those disagreed, an address could route to one
organization and be accepted as another's.

- Domains are compared as lowercase A-labels (punycode), produced by IDNA 2008 with UTS-46
  mapping, non-transitional, through the `idna` package. Python's built-in "idna" codec
  implements IDNA 2003, which maps `faß.de` to `fass.de`: verifying `fass.de` must not
  grant `faß.de` (D-07). A-labels also make homographs (`example.com` spelled with a
  Cyrillic U+0430 for its `a`) distinct names rather than lookalikes of one (D-06).
- Bad input is refused, never repaired (D-09): an address that needs repairing is one that
  two parsers may read differently, and the one that decides routing must not be the lenient
  one.
"""

from __future__ import annotations

import functools
import unicodedata

import idna

_MAX_LOCAL_PART_OCTETS = 64  # RFC 5321 §4.5.3.1.1

# RFC 5322 §3.2.3 "specials" other than "." and "@": outside a quoted string they end an
# atom, so an address holding one is a quoted local part, a comment, a display name or a
# list, and readers disagree about where its domain is (`"a@b"@c`, `a(x)@b`, `A <a@b>`).
_LOCAL_PART_SPECIALS = frozenset('"(),:;<>[\\]')
_NOT_IN_LOCAL_PART = _LOCAL_PART_SPECIALS | {"@"}


class InvalidDomain(ValueError):
    """Not a domain name we accept; the message says why, for the person who typed it."""


class InvalidEmail(ValueError):
    """Not an email address we accept; the message says why."""


def normalize_domain(raw: str) -> str:
    """The lowercase A-label form of `raw`, e.g. `Bücher.Example.` -> `xn--bcher-kva.example`.

    Surrounding whitespace and one trailing dot (an absolute name, RFC 1034 §3.1) are
    accepted; invisible characters inside the name are not, even those UTS-46 would map to
    nothing: "repairing" `exa\\u200bmple.com` into `example.com` hides what was typed, and
    joiners it keeps (U+200D) make a different name that looks identical.

    Cached: every login normalises its email's domain (routing, then the verified-domain
    check), the same few domains for everyone of a company, and idna's UTS-46 mapping is
    pure Python (~2 % of a login's CPU, issue 18). A pure function; only names that pass
    are kept (an exception is never cached), at most 4,096 of them, each short: a longer
    name (characters UTS-46 maps to nothing can pad a valid one) is worked out every time.
    """
    name = raw.strip()
    if len(name) > _CACHED_NAME_LENGTH:
        return _normalized(name)
    return _normalized_cached(name)


#: A domain name is at most 253 octets; its Unicode form (U-labels) is shorter still.
_CACHED_NAME_LENGTH = 253


@functools.lru_cache(maxsize=4096)
def _normalized_cached(name: str) -> str:
    return _normalized(name)


def _normalized(name: str) -> str:
    if not name:
        raise InvalidDomain("the domain is empty")
    invisible = next((ch for ch in name if _is_invisible(ch)), None)
    if invisible is not None:
        raise InvalidDomain(
            f"the domain contains a space or invisible character (U+{ord(invisible):04X}); "
            "type the name without it"
        )
    try:
        # Maps fullwidth letters and dots (U+FF0E, U+3002) before the dots are counted.
        mapped = idna.uts46_remap(name, std3_rules=True, transitional=False)
    except idna.IDNAError as exc:
        raise InvalidDomain(f"{name!r} is not a valid domain name: {exc}") from exc
    mapped = mapped.removesuffix(".")
    labels = mapped.split(".")
    if any(not label for label in labels):
        raise InvalidDomain(f"{name!r} has an empty label (two dots in a row, or a leading dot)")
    if len(labels) < 2:
        raise InvalidDomain(f"{name!r} is a single label; use a full domain such as example.com")
    try:
        # The encoded name is also held to RFC 1035 §2.3.4 here: a label of more than 63
        # octets, or a name of more than 253, is an IDNAError ("Label/Domain too long").
        encoded = idna.encode(mapped, uts46=True, transitional=False).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise InvalidDomain(f"{name!r} is not a valid domain name: {exc}") from exc
    if encoded.rpartition(".")[2].isdigit():
        raise InvalidDomain(f"{name!r} looks like an IP address, not a domain name")
    return encoded


def split_email(raw: str) -> tuple[str, str]:
    """`(local part, normalised domain)` of a plain `local@domain` address.

    Strict on purpose (D-09): exactly one `@` (the fullwidth U+FF20 is not one), no
    whitespace or invisible characters anywhere, and none of RFC 5322's specials in the local
    part, nor a compatibility variant of one (fullwidth U+FF02 quotation mark, U+FF20):
    quoted local parts, comments and display names are refused, not stripped. The local part
    is NFC-normalised and otherwise kept as is: it is compared exactly, never case-folded,
    because `ß`/`ss` or a dotless i (U+0131) must not collide with another person's address
    (D-08).
    """
    invisible = next((ch for ch in raw if _is_invisible(ch)), None)
    if invisible is not None:
        raise InvalidEmail(
            f"the email address contains a space or invisible character (U+{ord(invisible):04X})"
        )
    if raw.count("@") != 1:
        raise InvalidEmail("an email address has exactly one @, as in name@example.com")
    local, _, domain = raw.partition("@")
    if not local:
        raise InvalidEmail("the part before the @ is empty")
    special = next((ch for ch in local if _NOT_IN_LOCAL_PART.intersection(_compatible(ch))), None)
    if special is not None:
        raise InvalidEmail(
            f"the part before the @ contains {special!r}; quoted names, comments and display "
            "names are not accepted, only a plain address such as name@example.com"
        )
    local = unicodedata.normalize("NFC", local)
    if len(local.encode()) > _MAX_LOCAL_PART_OCTETS:
        raise InvalidEmail(
            f"the part before the @ is longer than {_MAX_LOCAL_PART_OCTETS} characters"
        )
    try:
        return local, normalize_domain(domain)
    except InvalidDomain as exc:
        raise InvalidEmail(f"the domain of the email address is not valid: {exc}") from exc


def email_domain(email: str) -> str | None:
    """The normalised domain (lowercase A-label) of a plain address; None if `email` is not
    one we accept (`split_email`: quoted local parts, comments, several
    `@`, invisible characters...). Storage, routing and the post-login check all call this,
    so an address cannot route as one domain and be accepted as another."""
    try:
        return split_email(email)[1]
    except InvalidEmail:
        return None


def _is_invisible(ch: str) -> bool:
    """Whitespace (Z*), control, format (zero-width, bidi, soft hyphen), private-use,
    surrogate and unassigned code points (C*)."""
    return ch.isspace() or unicodedata.category(ch)[0] in "CZ"


def _compatible(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch)
