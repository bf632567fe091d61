"""Domain and email normalisation (docs/security.md D-05..D-09): one function for
storage, routing and the post-login check, so every table row here holds for all three."""

from __future__ import annotations

import pytest

from broker.model.claims import is_email_verified
from broker.model.names import (
    InvalidDomain,
    InvalidEmail,
    email_domain,
    normalize_domain,
    split_email,
)

LONG_LABEL = "a" * 63
# Lookalikes spelled as escapes, so the source shows what they are.
CYRILLIC_A = "\u0430"
DOTLESS_I = "\u0131"
FULLWIDTH_AT = "\uff20"
FULLWIDTH_QUOTE = "\uff02"
SMALL_AT = "\ufe6b"
FULLWIDTH_EXAMPLE = "".join(chr(ord(c) + 0xFEE0) for c in "EXAMPLE")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),  # case and one trailing dot (D-05)
        (" example.com ", "example.com"),
        ("\texample.com\n", "example.com"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008, not 2003's fass.de (D-07)
        ("FASS.de", "fass.de"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example"),
        (f"ex{CYRILLIC_A}mple.com", "xn--exmple-4nf.com"),  # a different name (D-06)
        (f"{FULLWIDTH_EXAMPLE}.com", "example.com"),  # fullwidth letters map (UTS-46)
        ("example\u3002com", "example.com"),  # ideographic full stop is a dot (UTS-46)
        ("sub.mail.example.co.uk", "sub.mail.example.co.uk"),
        ("a1-b.example", "a1-b.example"),
        (f"{LONG_LABEL}.example", f"{LONG_LABEL}.example"),
        (".".join([LONG_LABEL] * 3) + "." + "a" * 61, ".".join([LONG_LABEL] * 3) + "." + "a" * 61),
    ],
)
def test_normalize_domain(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized
    assert normalize_domain(normalized) == normalized  # idempotent


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("example.com..", "empty label"),
        (".example.com", "empty label"),
        ("example..com", "empty label"),
        (".", "empty label"),
        ("exa mple.com", "space or invisible"),
        ("example.com\x00", "space or invisible"),
        ("exa\u200bmple.com", "space or invisible"),  # zero-width space: refused, not removed
        ("exam\u00adple.com", "space or invisible"),  # soft hyphen
        ("a\u200db.com", "space or invisible"),  # zero-width joiner
        ("example.com\u202e", "space or invisible"),  # bidi override
        ("localhost", "single label"),
        ("com.", "single label"),
        ("a_b.example", "not a valid domain"),
        ("-a.example", "not a valid domain"),
        ("a-.example", "not a valid domain"),
        ("xn--zz.example", "not a valid domain"),  # not a valid A-label
        ("ex@mple.com", "not a valid domain"),
        ("[127.0.0.1]", "not a valid domain"),
        ("127.0.0.1", "IP address"),
        # RFC 1035 §2.3.4 on the encoded name: 63 octets a label, 253 a name.
        ("a" * 64 + ".example", "not a valid domain name: Label too long"),
        ("ü" * 60 + ".example", "not a valid domain name: Label too long"),  # as an A-label
        (".".join([LONG_LABEL] * 4), "not a valid domain name: Domain too long"),
        (".".join([LONG_LABEL] * 3) + "." + "a" * 62, "not a valid domain name: Domain too long"),
    ],
)
def test_normalize_domain_refuses(raw: str, why: str) -> None:
    with pytest.raises(InvalidDomain, match=why):
        normalize_domain(raw)


def test_idna_2008_is_not_the_stdlib_codec() -> None:
    assert "faß.de".encode("idna") == b"fass.de"  # what the built-in codec would do
    assert normalize_domain("faß.de") != normalize_domain("fass.de")
    assert normalize_domain(f"ex{CYRILLIC_A}mple.com") != normalize_domain("example.com")


def test_invalid_domain_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="single label"):
        normalize_domain("intranet")


@pytest.mark.parametrize(
    ("raw", "local", "domain"),
    [
        ("ann@example.com", "ann", "example.com"),
        ("Ann.Lee@Example.COM.", "Ann.Lee", "example.com"),  # local part keeps its case
        ("ann+tag@example.com", "ann+tag", "example.com"),
        ("o'brien@example.com", "o'brien", "example.com"),
        ("victim%corp.com@evil.test", "victim%corp.com", "evil.test"),  # domain = evil.test
        ("straße@faß.de", "straße", "xn--fa-hia.de"),
        ("strasse@fass.de", "strasse", "fass.de"),
        (f"m{DOTLESS_I}ke@example.com", f"m{DOTLESS_I}ke", "example.com"),  # not "mike" (D-08)
        ("re\u0301my@example.com", "r\u00e9my", "example.com"),  # NFC
        ("ann@bücher.example", "ann", "xn--bcher-kva.example"),
    ],
)
def test_split_email(raw: str, local: str, domain: str) -> None:
    assert split_email(raw) == (local, domain)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "exactly one @"),
        ("no-at-sign", "exactly one @"),
        (f"ann{FULLWIDTH_AT}example.com", "exactly one @"),  # fullwidth at is not an @
        ("a@b@example.com", "exactly one @"),
        ('"victim@corp.com"@evil.test', "exactly one @"),
        ("@example.com", "empty"),
        ("ann@", "domain"),
        ("ann@localhost", "domain"),
        ("ann@example.com..", "domain"),
        ("ann@[127.0.0.1]", "domain"),
        ('"ann"@example.com', "contains '\"'"),
        ("victim(x)@corp.com", "contains '\\('"),
        ("Victim <a@evil.test>", "space"),
        ("<a@evil.test>", "contains '<'"),
        ("a,b@example.com", "contains ','"),
        ("a\\b@example.com", r"contains '\\\\'"),  # repr doubles the backslash
        ("a:b@example.com", "contains ':'"),
        ("a;b@example.com", "contains ';'"),
        (f"ann{FULLWIDTH_QUOTE}@example.com", "contains"),
        (f"ann{SMALL_AT}x@example.com", "contains"),
        ("ann @example.com", "space"),
        (" ann@example.com", "space"),
        ("ann@example.com\n", "space"),
        ("ann@example.com\x00", "invisible"),
        ("an\u200bn@example.com", "invisible"),
        ("ann@exa\u200bmple.com", "invisible"),
        ("\ufeffann@example.com", "invisible"),
        ("a" * 65 + "@example.com", "longer than 64"),
    ],
)
def test_split_email_refuses(raw: str, why: str) -> None:
    with pytest.raises(InvalidEmail, match=why):
        split_email(raw)


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("ann@Example.COM.", "example.com"),
        ("ann@faß.de", "xn--fa-hia.de"),
        ('"ann@acme.test"@evil.test', None),
        (f"ann{FULLWIDTH_AT}acme.test", None),
        ("ann(acme.test)@evil.test", None),
    ],
)
def test_email_domain_uses_the_same_rules(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        ("x@orga.test", True),
        ("x@ORGA.TEST.", True),
        ("x@orgb.test", False),
        ("x@sub.orga.test", False),  # no sub-domain by default (D-03)
        ("x@orga.test.evil.test", False),
        ("x@evil-orga.test", False),
        ("x@evilorga.test", False),
        ('"x@orga.test"@evil.test', False),
        (f"x@org{CYRILLIC_A}.test", False),
    ],
)
def test_email_verified_only_in_exactly_a_verified_domain(email: str, verified: bool) -> None:
    assert is_email_verified(email, [normalize_domain("orga.test")]) is verified


def test_verifying_fass_de_does_not_grant_fass_with_sharp_s() -> None:
    assert not is_email_verified("ceo@faß.de", [normalize_domain("fass.de")])
    assert is_email_verified("ceo@faß.de", [normalize_domain("FAß.de.")])
