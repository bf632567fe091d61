"""Who the client is: the TCP peer, or what our own reverse proxies say the peer was.

Behind a proxy every request comes from the proxy's address, so per-address limits would
count everyone together (one abuser locks everybody out). The proxy appends the address it
accepted the connection from to `X-Forwarded-For` (or RFC 7239 `Forwarded: for=`); anything
to the left of that came from the client and is whatever the client chose to send. So:

- the peer is the client unless the peer is in a *trusted* network (our proxies);
- then the forwarded list is read right to left, skipping trusted addresses (a chain of our
  own proxies); the first untrusted address is the client;
- a malformed entry (`unknown`, an obfuscated RFC 7239 node, garbage) stops the walk: the
  client is then the last trusted hop, never a value an untrusted party could have chosen.

Only the one header the operator names is read (`X-Forwarded-For` by default). A proxy that
writes one of the two passes the other through from the client untouched, so reading both
(or preferring either when both are present) would let a client choose its address.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ForwardedHeader = Literal["x-forwarded-for", "forwarded"]

X_FORWARDED_FOR: ForwardedHeader = "x-forwarded-for"
FORWARDED: ForwardedHeader = "forwarded"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedProxies:
    """The networks of our own reverse proxies and the header they write. Empty (the
    default) means no proxy: the peer is always the client."""

    networks: tuple[IpNetwork, ...] = ()
    header: ForwardedHeader = X_FORWARDED_FOR

    def client_address(
        self, peer: str | None, header_values: Callable[[str], Sequence[str]]
    ) -> str | None:
        """`header_values(name)` gives every value of a request header, in order (Starlette's
        `request.headers.getlist`): several header lines are one list (RFC 9110 §5.3)."""
        if not self.networks:
            return _canonical(peer)
        values = header_values(self.header)
        hops = _forwarded_hops(values) if self.header == FORWARDED else _xff_hops(values)
        return client_address(peer, hops, self.networks)


def client_address(
    peer: str | None, hops: Sequence[str | None], trusted: Sequence[IpNetwork]
) -> str | None:
    """The client of a request from `peer` whose proxies listed `hops` (left to right,
    None for an entry that is not an address)."""
    current = _parse(peer)
    if current is None:
        return peer  # not an IP peer (a Unix socket, a test client): nothing to walk
    for hop in reversed(hops):
        if not _is_trusted(current, trusted):
            break
        parsed = _parse(hop)
        if parsed is None:
            break  # malformed: keep the last trusted hop
        current = parsed
    return str(current)


def _is_trusted(address: IpAddress, trusted: Sequence[IpNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


@functools.lru_cache(maxsize=1024)
def _canonical(peer: str | None) -> str | None:
    """Cached: a peer is a socket's address, and the same few send most requests (parsing
    it was ~1 % of a login's CPU, issue 18); bounded, so many peers only evict."""
    parsed = _parse(peer)
    return peer if parsed is None else str(parsed)


def _parse(text: str | None) -> IpAddress | None:
    """An address, optionally `[v6]`, `[v6]:port` or `v4:port` (some load balancers add the
    port); an IPv4-mapped IPv6 address is its IPv4 address (dual-stack sockets)."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not _is_port(rest)):
            return None
        text = host
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _is_port(":" + port):
            return None
        text = host
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_port(text: str) -> bool:
    return text.startswith(":") and text[1:].isdigit() and len(text) <= 6


def _xff_hops(values: Sequence[str]) -> list[str | None]:
    return [item.strip() or None for value in values for item in value.split(",")]


def _forwarded_hops(values: Sequence[str]) -> list[str | None]:
    """RFC 7239 §4: elements separated by commas, pairs by semicolons; `for=` may be a
    quoted string (`for="[2001:db8::1]:4711"`). An element without `for=` is not an
    address (it stops the walk like garbage does)."""
    hops: list[str | None] = []
    for element in _split_outside_quotes(",".join(values), ","):
        found: str | None = None
        for pair in _split_outside_quotes(element, ";"):
            name, equals, value = pair.strip().partition("=")
            if equals and name.strip().lower() == "for":
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                found = value
        hops.append(found)
    return hops


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
