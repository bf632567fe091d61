"""Which certificate authorities a request to an IdP trusts (docs/security.md R-10, X-07).

Every request trusts the public bundle (certifi) and the deployment's own CAs
(`GATEHOUSE_UPSTREAM_CA_FILE`). A connection's requests also trust the CA bundle stored on
the connection: an on-premises ADFS or Keycloak whose certificate the company's private CA
issued. No other connection's requests ever trust it: a tenant's CA can issue a certificate
for any host name, so trusting it for everyone would let that tenant, given a network
position, impersonate another tenant's IdP.

The CAs travel with each request (`OutboundPolicy.ca_certificates`, sent as the request
extension `TRUST_EXTENSION`), and `TrustRouter` sends the request through a transport of
its own for exactly that set: its own SSL context, built once, and its own connection pool,
so a TLS connection verified under one tenant's CAs is never reused for another's request.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

#: The request extension naming the CAs (PEM) trusted beside the public bundle.
TRUST_EXTENSION = "gatehouse.ca_certificates"
#: A connection's CA bundle: a root and a few intermediates, with room for a rollover.
MAX_BUNDLE_BYTES = 64 * 1024
MAX_BUNDLE_CERTIFICATES = 20
#: Distinct sets of CAs with a live transport (each ~0.7 MB: certifi's CAs, loaded anew).
MAX_TRANSPORTS = 64
#: An evicted transport is closed this long after: longer than any request's deadline (at
#: most 30 s), so no request that picked it before the eviction still uses it.
RETIRED_SECONDS = 60.0
#: OpenSSL's verify codes that mean "issued by a CA Gatehouse does not know"
#: (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, DEPTH_ZERO_SELF_SIGNED_CERT,
#: SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
#: UNABLE_TO_VERIFY_LEAF_SIGNATURE).
_UNKNOWN_ISSUER = frozenset({2, 18, 19, 20, 21})

CaCertificates = tuple[str, ...]


def read_ca_bundle(text: str) -> CaCertificates:
    """A connection's CA bundle (PEM, one or more CA certificates) -> each certificate's PEM;
    ValueError says what is wrong in words an IT admin acts on. Expiry is the caller's to
    judge: a bundle given now must not be expired, a stored one that expired is warned
    about (the IdP's TLS then fails, and says so)."""
    data = text.encode(errors="replace")  # PEM is ASCII: a lone surrogate is no worse
    if len(data) > MAX_BUNDLE_BYTES:
        raise ValueError(f"is larger than {MAX_BUNDLE_BYTES // 1024} KiB")
    if "PRIVATE KEY" in text:
        raise ValueError(
            "this holds a private key: give only the certificate authority's certificate, "
            "and treat the key you pasted as compromised"
        )
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ValueError("not PEM certificates (-----BEGIN CERTIFICATE-----)") from exc
    if len(certificates) != text.count("-----BEGIN "):
        raise ValueError("holds something other than PEM certificates")
    if len(certificates) > MAX_BUNDLE_CERTIFICATES:
        raise ValueError(f"at most {MAX_BUNDLE_CERTIFICATES} certificates")
    for certificate in certificates:
        if not _is_ca(certificate):
            subject = certificate.subject.rfc4514_string()[:200]
            raise ValueError(
                f"{subject} is not a certificate authority (no basicConstraints CA:TRUE): give "
                "the CA that issued your identity provider's TLS certificate, not that "
                "certificate itself"
            )
    return tuple(dict.fromkeys(c.public_bytes(Encoding.PEM).decode() for c in certificates))


def _is_ca(certificate: x509.Certificate) -> bool:
    """Whether its basicConstraints say CA:TRUE. Extensions are parsed only now: one that
    does not parse, or comes twice, is refused in words like the rest."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    except (ValueError, x509.DuplicateExtension) as exc:
        raise ValueError("holds a certificate whose extensions cannot be read") from exc
    return constraints.value.ca


def ssl_context(ca_certificates: CaCertificates) -> ssl.SSLContext:
    """The public bundle (certifi, as httpx loads it) plus `ca_certificates`; ~20 ms."""
    context = httpx.create_ssl_context(trust_env=False)
    if ca_certificates:
        context.load_verify_locations(cadata="".join(ca_certificates))
    return context


def untrusted_certificate(exc: BaseException, host: str) -> str | None:
    """What to tell an admin when `exc` is a TLS certificate the request did not trust
    (found in its causes); None for any other failure."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    said = f"the TLS certificate of {host} is not trusted ({cause.verify_message})"
    if cause.verify_code in _UNKNOWN_ISSUER:
        said += (
            ": if your organization's own certificate authority issued it, give that CA's "
            "certificate as the connection's CA bundle"
        )
    return said


class TrustRouter(httpx.BaseTransport):
    """Each request through the transport for exactly the CAs it trusts, built on first use
    (`transport_for` gets the SSL context) and kept for the next. At most `max_transports`
    are kept, the least recently used evicted first; an evicted one is closed once no
    request can still be using it (`RETIRED_SECONDS`)."""

    def __init__(
        self,
        transport_for: Callable[[ssl.SSLContext], httpx.BaseTransport],
        *,
        max_transports: int = MAX_TRANSPORTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport_for = transport_for
        self._max = max_transports
        self._clock = clock
        self._lock = threading.Lock()
        self._transports: OrderedDict[CaCertificates, httpx.BaseTransport] = OrderedDict()
        self._retired: list[tuple[float, httpx.BaseTransport]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        trusted: CaCertificates = request.extensions.get(TRUST_EXTENSION, ())
        return self._transport(trusted).handle_request(request)

    def _transport(self, trusted: CaCertificates) -> httpx.BaseTransport:
        with self._lock:
            found = self._transports.get(trusted)
            if found is not None:
                self._transports.move_to_end(trusted)
                return found
        built = self._transport_for(ssl_context(trusted))  # outside the lock: ~20 ms
        with self._lock:
            # Another thread may have built the same meanwhile: one is kept, and the spare,
            # which never opened a connection, closed.
            kept = self._transports.setdefault(trusted, built)
            self._transports.move_to_end(trusted)
            now = self._clock()
            while len(self._transports) > self._max:
                self._retired.append((now, self._transports.popitem(last=False)[1]))
            due = [t for at, t in self._retired if now - at >= RETIRED_SECONDS]
            self._retired = [(at, t) for at, t in self._retired if now - at < RETIRED_SECONDS]
        for transport in due if kept is built else [*due, built]:
            transport.close()
        return kept

    def close(self) -> None:
        with self._lock:
            transports = [*self._transports.values(), *(t for _, t in self._retired)]
            self._transports.clear()
            self._retired.clear()
        for transport in transports:
            transport.close()
