"""Every request Gatehouse makes to an IdP goes through here (docs/security.md R-10, S-42).

The URLs are chosen by customers' IT admins (metadata URLs, OIDC issuers) or by the IdP's own
discovery document, so each one is a server-side request forgery waiting to happen: a cloud
metadata endpoint, the database, Gatehouse's own admin port. Two layers stop it:

- **Per URL** (`check_url`): https only (http too in development), no credentials in the URL,
  and a host written as an IP address must be allowed by the policy.
- **Per connection** (`GuardedTransport`): the host name is resolved *once, at connect time*,
  every address it resolves to must be allowed, and the socket is opened to that checked
  address (TLS still verifies the host name). A DNS answer that changes between a check and
  the connect (rebinding) therefore cannot reach a private address.

Allowed means globally routable, or inside a network the operator listed
(`GATEHOUSE_UPSTREAM_ALLOW_NETWORKS`; development adds loopback for the simulator).

TLS trusts the public bundle, the deployment's extra CAs and, for one connection's requests,
that connection's own CA bundle, never another's (`broker.upstream.trust`).

Responses are read with a size cap and redirects followed only to the same scheme, host and
port, at most three times (`get`); token requests never follow one (`post`). Each request has a
*total* deadline and a minimum transfer rate (`broker.upstream.deadline`), enforced at the
socket by the guarded backend: one customer's slow IdP costs that customer's login its
deadline, never a worker thread for longer.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from broker import tracing
from broker.metrics import recording as metrics
from broker.model.numerals import InvalidNumeral, parse_decimal
from broker.upstream.deadline import (
    Deadline,
    DeadlineExceeded,
    DeadlineStream,
    call_within,
    clamp,
    deadline_for_request,
)
from broker.upstream.trust import TRUST_EXTENSION, TrustRouter, untrusted_certificate

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

LOOPBACK_NETWORKS: tuple[IpNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
#: The default total deadline of one request to an IdP (connect + TLS + send + receive).
DEADLINE_SECONDS = 10.0
#: Once an answer has started, it must arrive at least this fast on average.
MIN_BYTES_PER_SECOND = 256
MAX_REDIRECTS = 3
#: Name resolutions that may still be running after their request gave up.
_RESOLVER_THREADS = 8


class OutboundError(Exception):
    """A request to an IdP that was refused by policy (`refused`) or failed (`unavailable`).
    `detail` is safe to show an IT admin; it never contains a response body."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind  # "refused" | "unavailable"
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundPolicy:
    """Where Gatehouse may send requests. Production: https, public addresses, plus the
    operator's listed networks (an IdP on a private network). Development also allows http
    and loopback, where the simulator runs."""

    allow_http: bool = False
    allowed_networks: tuple[IpNetwork, ...] = ()
    #: How long one request may take in all, and how slowly its answer may arrive.
    deadline_seconds: float = DEADLINE_SECONDS
    min_bytes_per_second: int = MIN_BYTES_PER_SECOND
    #: Certificate authorities (PEM) trusted beside the public bundle: the deployment's
    #: (`GATEHOUSE_UPSTREAM_CA_FILE`), and in one connection's policy its own (`trusting`).
    ca_certificates: tuple[str, ...] = ()

    @classmethod
    def for_environment(
        cls,
        *,
        production: bool,
        extra_networks: Iterable[IpNetwork] = (),
        deadline_seconds: float = DEADLINE_SECONDS,
        min_bytes_per_second: int = MIN_BYTES_PER_SECOND,
        ca_certificates: Iterable[str] = (),
    ) -> OutboundPolicy:
        extra = tuple(extra_networks)
        networks = extra if production else LOOPBACK_NETWORKS + extra
        return cls(
            allow_http=not production,
            allowed_networks=networks,
            deadline_seconds=deadline_seconds,
            min_bytes_per_second=min_bytes_per_second,
            ca_certificates=tuple(ca_certificates),
        )

    def trusting(self, ca_certificates: Iterable[str]) -> OutboundPolicy:
        """This policy for one connection's requests: also trusting the connection's own CA
        bundle. Only that connection's policy carries it (`broker.upstream.trust`)."""
        combined = tuple(dict.fromkeys((*self.ca_certificates, *ca_certificates)))
        return self if combined == self.ca_certificates else replace(self, ca_certificates=combined)

    def address_allowed(self, address: IpAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast


def check_url(url: str, policy: OutboundPolicy) -> None:
    """Refuse a URL before any request is made (OutboundError `refused`)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not one)
    except ValueError as exc:  # "https://[x", "https://h:99999"
        raise OutboundError("refused", "not a URL") from exc
    schemes = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise OutboundError("refused", f"{_shown(url)} is not an https URL")
    if parts.username is not None or parts.password is not None:
        raise OutboundError("refused", "credentials in a URL are not allowed")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: checked when it is resolved, in GuardedTransport
    if not policy.address_allowed(literal):
        raise OutboundError("refused", f"{parts.hostname} is not a public address")


def get(
    http: httpx.Client,
    url: str,
    *,
    policy: OutboundPolicy,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """GET `url` and return its body: 200 only, at most `max_bytes`, redirects only within
    the same origin."""
    origin = _origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, policy)
        with _open(http, "GET", url, policy, headers=headers) as (response, deadline):
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                if _origin(url) != origin:
                    raise OutboundError("refused", f"redirected to another site: {_shown(url)}")
                continue
            if response.status_code != 200:
                raise OutboundError("unavailable", f"the server answered {response.status_code}")
            return _read_capped(response, max_bytes, deadline)
    raise OutboundError("refused", "too many redirects")


def post(
    http: httpx.Client,
    url: str,
    *,
    policy: OutboundPolicy,
    max_bytes: int,
    data: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST a form; returns status and body (an OAuth error is a 400 with a body the caller
    reads). A redirect is an error: a token endpoint that redirects is misconfigured."""
    check_url(url, policy)
    with _open(http, "POST", url, policy, headers=headers, data=data) as (response, deadline):
        if response.is_redirect:
            raise OutboundError("refused", "the endpoint answered with a redirect")
        return response.status_code, _read_capped(response, max_bytes, deadline)


def post_content(
    http: httpx.Client,
    url: str,
    *,
    policy: OutboundPolicy,
    content: bytes,
    headers: Mapping[str, str],
    excerpt_bytes: int,
) -> tuple[int, bytes]:
    """POST `content` (a webhook) and return the status with at most `excerpt_bytes` of the
    answer: the rest is never read, since the answer only helps whoever debugs the
    receiver. A redirect is answered as its status (a receiver must answer itself). An
    answer that drips past the deadline is an `unavailable` OutboundError like any other;
    `error_class` names what happened for the attempt's record."""
    check_url(url, policy)
    with _open(http, "POST", url, policy, headers=headers, content=content) as (answer, deadline):
        excerpt = bytearray()
        for chunk in answer.iter_bytes():
            excerpt += chunk
            if len(excerpt) >= excerpt_bytes:
                break
            if deadline.remaining() <= 0:
                raise httpx.ReadTimeout("the request's deadline passed")
        return answer.status_code, bytes(excerpt[:excerpt_bytes])


def error_class(exc: OutboundError) -> str:
    """`refused` (policy: scheme, address), `timeout` (deadline or too slow), or
    `connection` (refused, reset, closed, TLS): a stable word for an attempt's record."""
    if exc.kind == "refused":
        return "refused"
    if isinstance(exc.__cause__, httpx.TimeoutException):
        return "timeout"
    return "connection"


@contextmanager
def _open(
    http: httpx.Client, method: str, url: str, policy: OutboundPolicy, **kwargs: Any
) -> Iterator[tuple[httpx.Response, Deadline]]:
    """One request under its total deadline: httpx's own timeouts start at the time left,
    and the guarded backend clamps every socket operation to it (`deadline.py`). The
    policy's CAs go with the request, for the transport that verifies TLS with them. Counted
    in the metrics by how it ended: ok, timeout, or error (a 5xx answer included), and
    traced as one span (`broker.tracing`) with the same outcome."""
    deadline = Deadline(policy.deadline_seconds, min_bytes_per_second=policy.min_bytes_per_second)
    outcome: metrics.IdpOutcome = "error"
    with tracing.idp_request(method, url, metrics.current_slot()) as traced:
        try:
            with deadline_for_request(deadline):
                timeout = httpx.Timeout(max(deadline.remaining(), 0.001))
                trust = {TRUST_EXTENSION: policy.ca_certificates}
                with http.stream(
                    method, url, timeout=timeout, follow_redirects=False, extensions=trust, **kwargs
                ) as response:
                    yield response, deadline
                    outcome = "error" if response.status_code >= 500 else "ok"
        except (httpx.InvalidURL, UnicodeError) as exc:  # a host name IDNA refuses: xn--.com
            raise OutboundError("refused", "not a URL a request can be made to") from exc
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            raise OutboundError("unavailable", _late(url, exc, policy)) from exc
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, BlockedAddress):
                raise OutboundError("refused", str(exc.__cause__)) from exc
            untrusted = untrusted_certificate(exc, urlsplit(url).hostname or url)
            if untrusted is not None:
                raise OutboundError("unavailable", untrusted) from exc
            raise OutboundError("unavailable", f"cannot reach {_shown(url)}") from exc
        finally:
            metrics.idp_request(outcome)
            traced.append(outcome)


def _late(url: str, exc: Exception, policy: OutboundPolicy) -> str:
    cause = exc.__cause__
    if isinstance(cause, DeadlineExceeded) and "bytes/s" in str(cause):
        return f"{_shown(url)} sent its answer too slowly ({cause})"
    return f"{_shown(url)} did not answer within {policy.deadline_seconds:g} s"


def _read_capped(response: httpx.Response, max_bytes: int, deadline: Deadline) -> bytes:
    try:  # 1*DIGIT (RFC 9110 §8.6), or no usable length: then the bytes are counted
        declared = parse_decimal(response.headers.get("content-length", ""), maximum=2**63 - 1)
    except InvalidNumeral:
        declared = 0
    if declared > max_bytes:
        raise OutboundError("refused", f"the response is larger than {max_bytes} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise OutboundError("refused", f"the response is larger than {max_bytes} bytes")
        if deadline.remaining() <= 0:
            # Transports without the guarded backend (injected ones) still stop here.
            raise httpx.ReadTimeout("the request's deadline passed")
    return bytes(body)


def _origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or ""), parts.port
    except ValueError:  # not a URL (a redirect's Location is the server's to choose)
        return "", url, -1  # the origin of no URL: matches none, and check_url refuses it


def _shown(url: str) -> str:
    """A URL for a message: without its query, which may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


# -- the connect-time guard --------------------------------------------------------------


class BlockedAddress(httpcore.ConnectError):
    """The host resolved to an address the policy does not allow."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, resolving each host itself and connecting only to checked
    addresses. Every address of the answer must pass: a name that resolves to one public and
    one private address is refused rather than raced."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = system_resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        # The system resolver has no timeout of its own; a customer's slow DNS must end by
        # the request's deadline like everything else.
        self._resolving = ThreadPoolExecutor(_RESOLVER_THREADS, thread_name_prefix="resolve")

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            answer = call_within(
                self._resolving, clamp(timeout), lambda: self._resolver(host, port)
            )
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in answer]
        except (OSError, ValueError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"cannot resolve {host}")
        blocked = [a for a in addresses if not self._policy.address_allowed(a)]
        if blocked:
            raise BlockedAddress(f"{host} is not a public address ({blocked[0]})")
        last: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(
                    str(address), port, clamp(timeout), local_address, socket_options
                )
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport on the guarded backend, verifying TLS with `ssl_context` (the
    certificate against the host name, not the address we connected to)."""

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; this is the one
        # place we reach past its public surface (pinned httpx; tests/broker/upstream prove it).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


def make_client(policy: OutboundPolicy, resolver: Resolver = system_resolver) -> httpx.Client:
    """The broker's one outbound client to IdPs (the composition root builds it): a guarded
    transport per set of trusted CAs (`TrustRouter`), all on one guarded backend."""
    backend = GuardedBackend(policy, resolver)
    return httpx.Client(
        transport=TrustRouter(lambda context: GuardedTransport(backend, context)),
        timeout=policy.deadline_seconds,
        follow_redirects=False,
        trust_env=False,
    )
