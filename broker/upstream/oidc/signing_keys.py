"""The IdP's ID-token signing keys, from its JWKS, cached and refetched sparingly.

Keys come only from the connection's own `jwks_uri`; a token's header chooses among them by
`kid` and never supplies a key (`jwk`, `jku`, `x5u`, `x5c` are ignored, R-09). An unknown
`kid` is usually a key rotation, so the JWKS is refetched then, but at most once per
`MIN_REFETCH_INTERVAL`: a stream of tokens with random `kid`s costs one fetch, not one each
(authlib refetches on every miss). Symmetric keys, encryption keys and private parameters are
never used to verify.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, RSAKey

from broker.model.reasons import Reason
from broker.upstream.base import UpstreamInvalid
from broker.upstream.oidc.idp_json import parse_object

log = logging.getLogger(__name__)

MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 64
REFRESH_AFTER = timedelta(hours=1)
MIN_REFETCH_INTERVAL = timedelta(seconds=60)
MIN_RSA_BITS = 2048
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str | None
    alg: str | None  # the JWK's own `alg`, when it pins one
    key: Key

    def fits(self, alg: str) -> bool:
        if self.alg is not None and self.alg != alg:
            return False
        if alg in _CURVES:
            return isinstance(self.key, ECKey) and self.key.curve_name == _CURVES[alg]
        return isinstance(self.key, RSAKey)


def parse_jwks(document: bytes) -> tuple[PublicKey, ...]:
    """Usable verification keys; anything else in the set is skipped (RFC 7517 §5)."""
    data = parse_object(document, Reason.JWKS_INVALID, "the JWKS")
    entries = data.get("keys")
    if not isinstance(entries, list):
        raise UpstreamInvalid(Reason.JWKS_INVALID, detail="no keys array")
    keys = [key for key in map(_public_key, entries[:MAX_KEYS]) if key is not None]
    return tuple(keys)


def _public_key(entry: Any) -> PublicKey | None:
    if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "d" in entry:
        return None
    kid, alg = entry.get("kid"), entry.get("alg")
    try:
        if entry.get("kty") == "RSA":
            rsa_key = RSAKey.import_key(entry)
            if rsa_key.raw_value.key_size < MIN_RSA_BITS:
                return None
            key: Key = rsa_key
        elif entry.get("kty") == "EC" and entry.get("crv") in _CURVES.values():
            # Another curve (secp256k1, or nonsense) is a key we cannot use: joserfc raises
            # KeyError for it, which must not stop the keys we can.
            key = ECKey.import_key(entry)
        else:
            return None  # "oct" above all: a shared secret never verifies an ID token
    except (JoseError, ValueError, TypeError, LookupError):
        return None
    return PublicKey(
        kid=kid if isinstance(kid, str) else None,
        alg=alg if isinstance(alg, str) else None,
        key=key,
    )


class SigningKeys:
    """One connection's JWKS cache; thread-safe."""

    def __init__(self, fetch: Callable[[str], bytes], clock: Callable[[], datetime]) -> None:
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._uri: str | None = None
        self._keys: tuple[PublicKey, ...] = ()
        self._fetched_at: datetime | None = None

    def candidates(self, jwks_uri: str, *, kid: str | None, alg: str) -> list[PublicKey]:
        """The keys that may have signed a token with this `kid` and `alg`: the one with
        that kid; or, without a kid, every key that fits the algorithm. Empty when none."""
        with self._lock:
            now = self._clock()
            if self._uri != jwks_uri or self._stale(now, REFRESH_AFTER):
                self._load(jwks_uri, now)
            found = _matching(self._keys, kid, alg)
            if not found and kid is not None and self._stale(now, MIN_REFETCH_INTERVAL):
                self._load(jwks_uri, now)  # perhaps a key rotated in since
                found = _matching(self._keys, kid, alg)
            return found

    def refresh_ahead(self, jwks_uri: str, *, ahead: timedelta) -> None:
        """Refetch the JWKS when it would be due within `ahead` (or was never read, or the
        discovery document moved it), so the next login verifies without a fetch. A failure
        raises and leaves the keys as they were."""
        with self._lock:
            now = self._clock()
            if self._uri != jwks_uri or self._stale(now + ahead, REFRESH_AFTER):
                self._load(jwks_uri, now)

    def known_kids(self) -> list[str]:
        """The key ids of the last JWKS read, for a refusal's diagnosis (no fetch)."""
        with self._lock:
            return [k.kid or "(no kid)" for k in self._keys]

    def _stale(self, now: datetime, age: timedelta) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= age

    def _load(self, jwks_uri: str, now: datetime) -> None:
        self._keys = parse_jwks(self._fetch(jwks_uri))
        self._uri, self._fetched_at = jwks_uri, now
        log.info("jwks loaded uri=%s keys=%d", jwks_uri, len(self._keys))


def _matching(keys: tuple[PublicKey, ...], kid: str | None, alg: str) -> list[PublicKey]:
    return [k for k in keys if (kid is None or k.kid == kid) and k.fits(alg)]
