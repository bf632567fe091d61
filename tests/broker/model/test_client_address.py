"""Who the client is (`broker.model.client_address`): the peer unless the peer is one of
our proxies, then the forwarded list right to left, never a value the client could choose."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from broker.model.client_address import FORWARDED, TrustedProxies
from broker.model.rate_limits import address_key, bounded_key

PROXIES = (
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("fd00::/8"),
)
XFF = TrustedProxies(networks=PROXIES)
FWD = TrustedProxies(networks=PROXIES, header=FORWARDED)
NONE = TrustedProxies()


def headers(**values: Sequence[str]) -> dict[str, Sequence[str]]:
    return {name.replace("_", "-"): list(v) for name, v in values.items()}


CASES = [
    # (id, trust, peer, headers, client)
    ("no proxy configured: the peer, whatever XFF says",
     NONE, "203.0.113.7", headers(x_forwarded_for=["198.51.100.1"]), "203.0.113.7"),
    ("untrusted peer forging XFF: the peer",
     XFF, "203.0.113.7", headers(x_forwarded_for=["127.0.0.1, 10.1.1.1"]), "203.0.113.7"),
    ("trusted proxy, one hop: the address it appended",
     XFF, "10.0.0.2", headers(x_forwarded_for=["198.51.100.1"]), "198.51.100.1"),
    ("trusted proxy, client's forged entries to the left are never reached",
     XFF, "10.0.0.2", headers(x_forwarded_for=["1.1.1.1, 2.2.2.2, 198.51.100.1"]), "198.51.100.1"),
    ("several proxies of ours: skipped right to left",
     XFF, "127.0.0.1", headers(x_forwarded_for=["6.6.6.6, 198.51.100.1, 10.9.9.9, 10.0.0.3"]),
     "198.51.100.1"),
    ("several header lines are one list, in order",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6", "198.51.100.1, 10.0.0.5"]),
     "198.51.100.1"),
    ("trusted proxy without the header: the proxy itself",
     XFF, "10.0.0.2", headers(), "10.0.0.2"),
    ("every hop ours: the leftmost (an internal caller)",
     XFF, "10.0.0.2", headers(x_forwarded_for=["10.7.7.7, 10.0.0.3"]), "10.7.7.7"),
    ("garbage stops the walk at the last trusted hop",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, not-an-ip, 10.0.0.3"]), "10.0.0.3"),
    ("garbage right after the peer: the peer",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, unknown"]), "10.0.0.2"),
    ("an empty entry is garbage too",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6,"]), "10.0.0.2"),
    ("a port after an IPv4 address (some load balancers add it)",
     XFF, "10.0.0.2", headers(x_forwarded_for=["198.51.100.1:50123"]), "198.51.100.1"),
    ("IPv6 client through an IPv6 proxy, canonical form",
     XFF, "fd00::1", headers(x_forwarded_for=["2001:DB8:0:0::7"]), "2001:db8::7"),
    ("bracketed IPv6 with a port",
     XFF, "10.0.0.2", headers(x_forwarded_for=["[2001:db8::7]:443"]), "2001:db8::7"),
    ("bracketed IPv6 without a port",
     XFF, "10.0.0.2", headers(x_forwarded_for=["[2001:db8::7]"]), "2001:db8::7"),
    ("an unclosed bracket is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, [2001:db8::7"]), "10.0.0.2"),
    ("a bracket followed by anything but a port is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, [2001:db8::7]x"]), "10.0.0.2"),
    ("a bracket with a port that is not a number is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, [2001:db8::7]:https"]), "10.0.0.2"),
    ("an IPv4 port that is not a number is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, 198.51.100.1:http"]), "10.0.0.2"),
    ("an IPv4 port of more than five digits is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, 198.51.100.1:123456"]), "10.0.0.2"),
    ("an IPv4 address with an empty port is garbage",
     XFF, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6, 198.51.100.1:"]), "10.0.0.2"),
    ("IPv4-mapped peer (dual-stack socket) is the IPv4 proxy",
     XFF, "::ffff:10.0.0.2", headers(x_forwarded_for=["198.51.100.1"]), "198.51.100.1"),
    ("IPv6 untrusted peer forging XFF",
     XFF, "2001:db8::66", headers(x_forwarded_for=["10.0.0.1"]), "2001:db8::66"),
    ("XFF configured: a Forwarded header is ignored",
     XFF, "10.0.0.2", headers(forwarded=["for=6.6.6.6"], x_forwarded_for=["198.51.100.1"]),
     "198.51.100.1"),
    ("Forwarded: the for= of the last element",
     FWD, "10.0.0.2", headers(forwarded=["for=6.6.6.6, for=198.51.100.1;proto=https"]),
     "198.51.100.1"),
    ("Forwarded: quoted IPv6 with port, through two proxies",
     FWD, "10.0.0.2", headers(forwarded=['for="[2001:db8::7]:4711", for=10.0.0.9;by=10.0.0.2']),
     "2001:db8::7"),
    ("Forwarded configured: a forged X-Forwarded-For is ignored",
     FWD, "10.0.0.2", headers(x_forwarded_for=["6.6.6.6"], forwarded=["for=198.51.100.1"]),
     "198.51.100.1"),
    ("Forwarded: an obfuscated node stops the walk",
     FWD, "10.0.0.2", headers(forwarded=["for=6.6.6.6, for=_hidden"]), "10.0.0.2"),
    ("Forwarded: an element without for= stops the walk",
     FWD, "10.0.0.2", headers(forwarded=["for=6.6.6.6, proto=https"]), "10.0.0.2"),
    ("Forwarded: a quoted comma does not split an element",
     FWD, "10.0.0.2", headers(forwarded=['for="6.6.6.6,for=1.2.3.4"']), "10.0.0.2"),
    ("a peer that is not an IP (a test client, a socket) is kept as it is",
     XFF, "testclient", headers(x_forwarded_for=["198.51.100.1"]), "testclient"),
    ("no peer at all", XFF, None, headers(x_forwarded_for=["198.51.100.1"]), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("trust", "peer", "request_headers", "client"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_client_address(
    trust: TrustedProxies,
    peer: str | None,
    request_headers: dict[str, Sequence[str]],
    client: str | None,
) -> None:
    assert trust.client_address(peer, lambda name: request_headers.get(name, [])) == client


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("198.51.100.1", "198.51.100.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # a subscriber's /64 is one budget
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        (None, "unknown"),
        ("testclient", "testclient"),
    ],
)
def test_an_address_is_counted_by_its_key(address: str | None, key: str) -> None:
    assert address_key(address) == key


def test_a_key_from_the_request_stays_small() -> None:
    assert bounded_key("auth0-tenant") == "auth0-tenant"
    long = bounded_key("x" * 5000)
    assert long.startswith("sha256:")
    assert len(long) < 64
    assert bounded_key("caf\u00e9").startswith("sha256:")
