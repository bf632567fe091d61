"""A real DNS server on loopback (dnslib), serving TXT records a test publishes: domain
verification is tested against DNS as it happens, UDP packets and all, not a stub of the
resolver. `silent_nameserver` is a UDP port that never answers, for the timeout case."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from dnslib import QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


class Zone(BaseResolver):  # type: ignore[misc]
    """TXT records by name; any other question is NXDOMAIN. Thread-safe enough for tests:
    a dict assignment is atomic."""

    def __init__(self) -> None:
        self.records: dict[str, list[str | bytes]] = {}
        self.queries: list[str] = []

    def publish(self, name: str, *values: str | bytes) -> None:
        """Strings are sent UTF-8 encoded; bytes as they are (a TXT string is bytes)."""
        self.records[name.rstrip(".").lower()] = list(values)

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.queries.append(name)
        values = self.records.get(name)
        if values is None or request.q.qtype != QTYPE.TXT:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in values:
            reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        return reply


class AnyNameZone(Zone):
    """Answers every TXT question with the same strings (the fuzz tier: whatever domain a
    portal form claimed, its check reads these)."""

    def __init__(self, *values: str | bytes) -> None:
        super().__init__()
        self.values = list(values)

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        self.publish(str(request.q.qname), *self.values)
        return super().resolve(request, handler)


@contextmanager
def dns_server(zone: Zone | None = None) -> Iterator[tuple[Zone, str]]:
    """(zone, "127.0.0.1:<port>") for GATEHOUSE_DNS_RESOLVER."""
    zone = zone or Zone()
    server = DNSServer(zone, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _line: None))
    port = server.server.server_address[1]
    server.start_thread()
    try:
        yield zone, f"127.0.0.1:{port}"
    finally:
        server.stop()
        server.server.server_close()


@contextmanager
def silent_nameserver() -> Iterator[str]:
    """A bound UDP port that reads nothing back: every query times out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
