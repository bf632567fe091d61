"""ID token checks, kept apart from the flow so each rule reads on its own (OIDC Core
§3.1.3.7) and the JWKS handling is in one place."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from demo_rp.errors import IdTokenInvalid, LoginFailed

ALLOWED_ID_TOKEN_ALGS: frozenset[str] = frozenset({"RS256"})
"""The only ID token algorithms accepted, whatever the token header claims.

RS256 is the OIDC default (`id_token_signed_response_alg`, Registration §2) and all Auth0 asks
for. Taking the algorithm from an allow-list rather than the header is what defeats `alg: none`
and the HS256-with-the-public-key confusion (RFC 8725 §2.1, §3.1).
"""

_MIN_RSA_BITS = 2048


def check_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str,
    now: float,
    leeway: float,
    require_at_hash: bool,
) -> None:
    """The claim checks of OIDC Core §3.1.3.7 (2-3, 9-11) and at_hash (§3.1.3.8)."""
    if claims.get("iss") != issuer:
        raise IdTokenInvalid("id_token_iss_mismatch", repr(claims.get("iss")))
    audiences = _audiences(claims.get("aud"))
    if audiences is None or client_id not in audiences:
        raise IdTokenInvalid("id_token_aud_mismatch", repr(claims.get("aud")))
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise IdTokenInvalid("id_token_azp_mismatch", repr(azp))
    if not non_empty_str(claims.get("sub")):
        raise IdTokenInvalid("id_token_sub_missing")
    exp = claims.get("exp")
    if not _numeric_date(exp):
        raise IdTokenInvalid("id_token_exp_invalid")
    if exp + leeway <= now:
        raise IdTokenInvalid("id_token_expired")
    iat = claims.get("iat")
    if not _numeric_date(iat):
        raise IdTokenInvalid("id_token_iat_invalid")
    if iat - leeway > now:
        raise IdTokenInvalid("id_token_iat_in_future")
    if "nbf" in claims:
        nbf = claims["nbf"]
        if not _numeric_date(nbf) or nbf - leeway > now:
            raise IdTokenInvalid("id_token_not_yet_valid")
    claimed_nonce = claims.get("nonce")
    if not isinstance(claimed_nonce, str) or not constant_time_equal(claimed_nonce, nonce):
        raise IdTokenInvalid("id_token_nonce_mismatch")
    at_hash = claims.get("at_hash")
    if at_hash is None:
        if require_at_hash:
            raise IdTokenInvalid("id_token_at_hash_missing")
    elif not isinstance(at_hash, str) or not constant_time_equal(
        at_hash, left_half_hash(access_token)
    ):
        raise IdTokenInvalid("id_token_at_hash_mismatch")


def left_half_hash(value: str) -> str:
    """`at_hash`/`c_hash` for RS256: base64url of the left half of SHA-256 (OIDC Core §3.1.3.6)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _audiences(aud: object) -> list[str] | None:
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return aud
    return None


def non_empty_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value != ""


def _numeric_date(value: object) -> TypeGuard[int | float]:
    """A JSON number that is not a boolean, NaN or infinite (RFC 7519 §2 NumericDate)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def rs256_verification_key(entry: object) -> tuple[str, RSAKey] | None:
    """The RSA verification key an entry of a JWK Set holds, or None when it is not one.

    Only public members are imported, so a JWKS that leaks private parameters cannot make us
    hold a private key. Keys for encryption, for another algorithm or too short are skipped
    (RFC 7517 §4.2-§4.4, §5) rather than failing the whole set.
    """
    if not isinstance(entry, dict) or entry.get("kty") != "RSA":
        return None
    use, alg, key_ops = entry.get("use", "sig"), entry.get("alg", "RS256"), entry.get("key_ops")
    if use != "sig" or not isinstance(alg, str) or alg not in ALLOWED_ID_TOKEN_ALGS:
        return None
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None
    kid, n, e = entry.get("kid"), entry.get("n"), entry.get("e")
    if not (non_empty_str(kid) and non_empty_str(n) and non_empty_str(e)):
        return None
    if _modulus_bits(n) < _MIN_RSA_BITS:
        return None
    try:
        return kid, RSAKey.import_key({"kty": "RSA", "n": n, "e": e})
    except (JoseError, ValueError) as exc:
        raise LoginFailed("jwks_invalid", kid) from exc


def _modulus_bits(n: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()
