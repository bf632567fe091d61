"""Hypothesis strategies for what an attacker sends: text no form of ours produces, numbers
in every script and size, bytes that are not UTF-8, parameters repeated, bodies in odd
encodings under odd content types.

Values are drawn as `str` (which may hold lone surrogates) and put on the wire by `wire`,
which writes them as UTF-8 with `surrogatepass`: a lone surrogate arrives as the three bytes
no UTF-8 decoder accepts, which is the only way one can arrive at all.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

T = TypeVar("T")

#: Values that have broken parsers somewhere, drawn often so every run tries them.
SPECIAL_TEXT = (
    "", " ", "\x00", "\r\n", "\n", "\t", "\x7f", "\x85", "\u2028", "\ufeff", "\u202e",
    "\ud800", "\udfff", "\ud83d", "²", "\u0661\u0662", "\uff15", "9" * 5000, "-1", "0",
    "1e400", "NaN", "Infinity", "1_000", "0x10", "%00", "%ff", "%", "+", "&", "=", ";", '"',
    "'", "\\", "<script>alert(1)</script>", "../../etc/passwd", "x" * 3000, "é" * 200,
    "null", "[]", "{}", "true", "ann@acme.test", "ANN@ACME.TEST.", "@acme.test", "ann@",
    "ann@acme.test\x00", "ann@xn--bcher-kva.example", "ann@bücher.example", "a" * 65 + "@acme.test",
    '"a@b"@acme.test', "ann@[127.0.0.1]", "ann@acme.test@evil.test", "ann@acme..test",
    "https://xn--.com/", "https://[op.test", "https://op.test:99999/", "https://op.test/ x",
    "https://ä.test/", "http://127.0.0.1:1/", "https://op.test", "javascript:alert(1)",
)  # fmt: skip

NUMERALS = (
    "²", "³", "\u0661\u0662", "\uff15", "\u0e51", "\U0001d7ce", "9" * 5000, "9" * 40, "-1",
    "+1", " 1", "1 ", "1_0", "1e3", "0x1f", "01", "00000000000000000000001", "2147483648",
    "18446744073709551616", "NaN", "inf", "",
)  # fmt: skip

#: Digits of every script `str.isdigit()` says yes to: ASCII, superscripts, Arabic-Indic,
#: fullwidth.
DIGITS = "0123456789\u00b2\u00b3\u00b9" + "".join(map(chr, range(0x660, 0x66A))) + "\uff10\uff11"

#: Any character at all, lone surrogates and private use included.
any_character = st.characters(exclude_categories=[])


def text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SPECIAL_TEXT),
        st.text(any_character, max_size=40),
        st.text(st.characters(codec="ascii"), max_size=60),
        st.builds(
            lambda a, b: a + b, st.sampled_from(SPECIAL_TEXT), st.text(any_character, max_size=8)
        ),
    )


def numeral() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMERALS),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.text(st.sampled_from(DIGITS), min_size=1, max_size=25),
    )


def identifier() -> st.SearchStrategy[str]:
    """Something in the place of a flow id, connection id, code or token."""
    return st.one_of(
        text(),
        st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=64),
        st.sampled_from(("con_", "flow", "org_", "tst_", "a" * 43, "%2e%2e", "..", "/")),
    )


def wire(value: str) -> bytes:
    """A value's bytes as sent: UTF-8, with lone surrogates as the bytes they would be."""
    return value.encode("utf-8", "surrogatepass")


def path_segment(value: str) -> bytes:
    """`value` as one percent-encoded path segment (a `/` in it stays inside it)."""
    return quote_from_bytes(wire(value), safe="").encode()


Field = tuple[str, str]


def fields(
    known: dict[str, st.SearchStrategy[str]], *, extra_names: Sequence[str] = ()
) -> st.SearchStrategy[list[Field]]:
    """A form or query: each known field kept as drawn, dropped, or sent twice; plus
    fields of hostile names (`extra_names` are the ones the code reads, so a value lands)."""
    names = st.one_of(st.sampled_from(tuple(known) + tuple(extra_names) or ("x",)), text())
    extra = st.lists(st.tuples(names, text()), max_size=3)

    @st.composite
    def build(draw: st.DrawFn) -> list[Field]:
        drawn: list[Field] = []
        for name, values in known.items():
            times = draw(st.sampled_from((1, 1, 1, 1, 1, 0, 2)))
            drawn += [(name, draw(values)) for _ in range(times)]
        drawn += draw(extra)
        return drawn if not draw(st.booleans()) else draw(st.permutations(drawn))

    return build()


def encode(drawn: Sequence[Field], *, raw: bool = False) -> bytes:
    """`a=1&b=2`, percent-encoded (or, `raw`, as the bytes are: `&`, `=` and non-UTF-8
    bytes where they fall)."""
    if raw:
        return b"&".join(wire(k) + b"=" + wire(v) for k, v in drawn)
    return b"&".join(
        quote_from_bytes(wire(k), safe="").encode()
        + b"="
        + quote_from_bytes(wire(v), safe="").encode()
        for k, v in drawn
    )


def multipart(drawn: Sequence[Field], boundary: bytes = b"fuzzboundary") -> bytes:
    parts = [
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + wire(k) + b'"\r\n\r\n'
        + wire(v) + b"\r\n"
        for k, v in drawn
    ]  # fmt: skip
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


FORM = b"application/x-www-form-urlencoded"
CONTENT_TYPES = (
    FORM, FORM + b"; charset=latin-1", b"multipart/form-data; boundary=fuzzboundary",
    b"multipart/form-data", b"application/json", b"text/plain", b"",
    b"APPLICATION/X-WWW-FORM-URLENCODED", b"application/x-www-form-urlencoded\xff", b"*/*",
)  # fmt: skip


def mostly(usual: st.SearchStrategy[T], odd: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` three times in four: hostile values must still reach the checks that only a
    well-formed request gets to (a live flow, a form that parses)."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda n: odd if n == 0 else usual)


@st.composite
def body(draw: st.DrawFn, drawn: list[Field]) -> tuple[bytes, bytes]:
    """(content type, body) for `drawn` fields: mostly a form as a browser sends it; else
    in another encoding, under another content type, or bytes."""
    if draw(mostly(st.just(True), st.just(False))):
        return FORM, encode(drawn)
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    shape = draw(st.sampled_from(("form", "raw", "multipart", "binary")))
    if shape == "binary":
        return content_type, draw(st.binary(max_size=300))
    if shape == "multipart":
        return content_type, multipart(drawn)
    return content_type, encode(drawn, raw=shape == "raw")


HEADER_NAMES = (
    b"cookie", b"authorization", b"origin", b"sec-fetch-site", b"content-type",
    b"content-length", b"accept", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto",
    b"user-agent", b"accept-language", b"referer", b"transfer-encoding", b"idempotency-key",
)  # fmt: skip
#: What an HTTP/1.1 server passes on in a header value: no CR, LF or NUL, anything else.
header_value = st.one_of(
    st.binary(max_size=60).map(lambda b: bytes(c for c in b if c not in b"\r\n\x00")),
    st.sampled_from(SPECIAL_TEXT).map(
        lambda t: wire(t).replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
    ),
    numeral().map(wire),
)


#: The cookies Gatehouse sets (the login's browser binding, the portal's session).
COOKIE_NAMES = (b"__Host-gatehouse-login", b"__Host-gatehouse-portal", b"gatehouse-login")
cookie = st.tuples(st.sampled_from(COOKIE_NAMES), header_value).map(
    lambda pair: (b"cookie", pair[0] + b"=" + pair[1])
)


def headers() -> st.SearchStrategy[list[tuple[bytes, bytes]]]:
    return st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value) | cookie, max_size=3)


def basic_credentials() -> st.SearchStrategy[bytes]:
    """An Authorization header value: Basic of anything, or not Basic at all."""
    return st.one_of(
        st.binary(max_size=40).map(lambda b: b"Basic " + base64.b64encode(b)),
        st.tuples(text(), text()).map(
            lambda pair: b"Basic " + base64.b64encode(wire(pair[0]) + b":" + wire(pair[1]))
        ),
        header_value.map(lambda v: b"Basic " + v),
        header_value.map(lambda v: b"Bearer " + v),
        header_value,
    )
