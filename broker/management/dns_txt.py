"""Reading DNS TXT records, for domain verification, with dnspython.

The resolver is configurable (`GATEHOUSE_DNS_RESOLVER=host[:port]`) so tests point it at a
real DNS server on loopback and operators at their own recursive resolver; otherwise the
system's. Answers are not cached here: a verification asks the resolver every time, so an
admin who just published the record can press "check now" again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from broker.model.numerals import InvalidNumeral, parse_decimal

LOOKUP_SECONDS = 3.0


class TxtLookupError(Exception):
    """`reason` is the machine code of a failed verification: `record_not_found`,
    `timeout`, `resolver_error`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class TxtLookup(Protocol):
    def txt(self, name: str) -> list[str]:
        """Every TXT string published at `name` (multi-string records joined)."""
        ...


@dataclass(frozen=True, slots=True)
class DnsTxtLookup:
    """dnspython over the system resolver, or over `nameserver` (`host[:port]`)."""

    nameserver: str | None = None
    lifetime: float = LOOKUP_SECONDS

    def __post_init__(self) -> None:
        # At start-up, not at the first verification: ValueError names what is expected.
        if self.nameserver is not None:
            parse_nameserver(self.nameserver)

    def _resolver(self) -> dns.resolver.Resolver:
        if self.nameserver is None:
            resolver = dns.resolver.Resolver()
        else:
            host, port = parse_nameserver(self.nameserver)
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [host]
            resolver.port = port
        resolver.lifetime = self.lifetime
        resolver.timeout = self.lifetime
        resolver.cache = None
        return resolver

    def txt(self, name: str) -> list[str]:
        try:
            answer = self._resolver().resolve(dns.name.from_text(name), dns.rdatatype.TXT)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as exc:
            raise TxtLookupError("record_not_found", f"no TXT record at {name}") from exc
        except dns.exception.Timeout as exc:
            raise TxtLookupError("timeout", f"the resolver did not answer for {name}") from exc
        except dns.exception.DNSException as exc:
            raise TxtLookupError("resolver_error", f"{type(exc).__name__} for {name}") from exc
        return [
            b"".join(record.strings).decode("utf-8", "replace")
            for record in answer
            if hasattr(record, "strings")
        ]


def parse_nameserver(text: str) -> tuple[str, int]:
    """`10.0.0.2`, `127.0.0.1:5353`, `::1` or `[::1]:5353` -> (address, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    try:
        number = parse_decimal(port, maximum=65535) if port else 53
    except InvalidNumeral:
        number = 0
    if not host or not number:
        raise ValueError(f"not a resolver address: {text!r} (host or host:port)")
    return host, number
