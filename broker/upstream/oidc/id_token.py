"""Verifying an ID token from the customer's IdP (OpenID Connect Core §3.1.3.7), all of it.

authlib's RP helpers leave `aud` unchecked unless asked, take the algorithm list from the IdP,
and let a `nonce_supported: false` claim switch the nonce check off (docs/security.md, "authlib"),
so verification is ours, step by step, each failure with its own reason. joserfc does the
signature arithmetic with one key we chose; it never sees a key set it could pick from by
header.

Order: size and shape, the header (algorithm allow-listed *before* anything is hashed: R-13),
the key (from our JWKS only), the signature, then the claims.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError

from broker.model.reasons import Reason
from broker.upstream.base import UpstreamInvalid
from broker.upstream.oidc.idp_json import is_ascii_text, parse_object, timestamp
from broker.upstream.oidc.signing_keys import SigningKeys

MAX_TOKEN_BYTES = 16 * 1024
MAX_SUBJECT_CHARS = 255
#: Longer than any key id a JWKS we have seen publishes (Entra's are 27 characters).
MAX_KID_CHARS = 256
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
_TIME_CLAIMS = {"exp": "expiry", "iat": "issued at", "nbf": "not before", "auth_time": "login"}


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTokenExpectations:
    issuer: str
    client_id: str
    nonce: str
    algorithms: tuple[str, ...]
    jwks_uri: str
    now: datetime
    skew: timedelta
    #: The relying party's max_age, carried upstream: auth_time must then be present and
    #: recent enough (Core §3.1.2.1).
    max_age: int | None = None
    access_token: str | None = None


@dataclass(frozen=True, slots=True)
class VerifiedIdToken:
    """A verified ID token's header and claims (never its signature)."""

    header: dict[str, Any]
    claims: dict[str, Any]

    def shown(self) -> dict[str, object]:
        """As a portal test report shows it."""
        return {"header": dict(self.header), "claims": dict(self.claims)}


def verify_id_token(token: str, keys: SigningKeys, expect: IdTokenExpectations) -> VerifiedIdToken:
    """The verified token, or UpstreamInvalid naming the first check that failed. A refusal
    after the signature verified carries the token's header and claims as its `evidence`
    (for a portal test report; never the signature)."""
    verified = VerifiedIdToken(*_verified_parts(token, keys, expect))
    claims = verified.claims
    try:
        _check_issuer_and_audience(claims, expect)
        _check_times(claims, expect)
        _check_subject_and_nonce(claims, expect)
        if "at_hash" in claims and expect.access_token is not None:
            expected = token_hash(expect.access_token, verified.header["alg"])
            if not _same_ascii(claims["at_hash"], expected):
                raise UpstreamInvalid(Reason.AT_HASH_MISMATCH, detail="at_hash does not match")
    except UpstreamInvalid as exc:
        exc.evidence = lambda: {"id_token": verified.shown()}
        raise
    return verified


def token_hash(value: str, alg: str) -> str:
    """`at_hash`: the left half of the hash the JWS algorithm uses (Core §3.1.3.6). `value`
    is ASCII: the token endpoint refuses an access token that is not (RFC 6749 A.12)."""
    digest = _HASHES[alg[-3:]](value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _verified_parts(
    token: str, keys: SigningKeys, expect: IdTokenExpectations
) -> tuple[dict[str, Any], dict[str, Any]]:
    if len(token) > MAX_TOKEN_BYTES:
        raise UpstreamInvalid(Reason.ID_TOKEN_TOO_LARGE, detail=f"{len(token)} bytes")
    if not token.isascii():  # a compact JWS is base64url and dots (RFC 7515 §7.1)
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail="not ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        # Five parts would be an encrypted ID token, which we never ask for.
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail=f"{len(parts)} parts")
    header = _json_object(parts[0], "header")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in expect.algorithms:
        raise UpstreamInvalid(
            Reason.ALGORITHM_NOT_ALLOWED,
            detail=f"alg {str(alg)[:20]!r}",
            facts={
                "actual_algorithm": str(alg)[:20],
                "allowed_algorithms": ", ".join(expect.algorithms),
            },
        )
    if "crit" in header:
        # RFC 7515 §4.1.11: a critical extension we do not implement must fail.
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail="crit header")
    kid = header.get("kid")
    if kid is not None and not is_ascii_text(kid, max_chars=MAX_KID_CHARS):
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail="kid is not a short ASCII string")
    if "typ" in header and not is_ascii_text(header["typ"], max_chars=64):
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail="typ is not a short ASCII string")
    candidates = keys.candidates(expect.jwks_uri, kid=kid, alg=alg)
    if not candidates:
        raise UpstreamInvalid(
            Reason.UNKNOWN_KEY,
            detail=f"no key {str(kid)[:64]!r} for {alg}",
            facts={
                "token_kid": str(kid)[:64] if kid is not None else "(none)",
                "token_algorithm": str(alg),
                "jwks_uri": expect.jwks_uri,
                "published_kids": ", ".join(keys.known_kids())[:1000] or "(none)",
            },
        )
    for candidate in candidates:
        try:
            jws.deserialize_compact(token, candidate.key, algorithms=[alg])
        except (JoseError, ValueError):
            continue
        return header, _json_object(parts[1], "payload")
    raise UpstreamInvalid(
        Reason.SIGNATURE_INVALID,
        detail=f"kid {str(kid)[:64]!r}",
        facts={
            "token_kid": str(kid)[:64] if kid is not None else "(none)",
            "token_algorithm": str(alg),
            "jwks_uri": expect.jwks_uri,
        },
    )


def _check_issuer_and_audience(claims: dict[str, Any], expect: IdTokenExpectations) -> None:
    if claims.get("iss") != expect.issuer:
        raise UpstreamInvalid(
            Reason.WRONG_ISSUER,
            detail=f"iss {str(claims.get('iss'))[:200]!r}",
            facts={"expected_issuer": expect.issuer, "actual_issuer": str(claims.get("iss"))[:300]},
        )
    audience = claims.get("aud")
    audiences: Sequence[object] = [audience] if isinstance(audience, str) else audience or []
    facts = {
        "expected_audience": expect.client_id,
        "actual_audience": _shown_list(audience),
        "actual_azp": str(claims.get("azp", "(none)"))[:300],
    }
    if not isinstance(audiences, list | tuple) or expect.client_id not in audiences:
        raise UpstreamInvalid(
            Reason.WRONG_AUDIENCE, detail=f"aud {str(audience)[:200]!r}", facts=facts
        )
    azp = claims.get("azp")
    # Core §3.1.3.7 steps 4-5: with several audiences the token must say it was issued to
    # us; R-11: an extra audience is another party the token also speaks to.
    if (len(audiences) > 1 or azp is not None) and azp != expect.client_id:
        raise UpstreamInvalid(
            Reason.WRONG_AUDIENCE, detail=f"azp {str(azp)[:200]!r}", facts={**facts, "field": "azp"}
        )


def _check_times(claims: dict[str, Any], expect: IdTokenExpectations) -> None:
    now, skew = expect.now.timestamp(), expect.skew.total_seconds()
    for name in ("nbf", "auth_time"):
        if claims.get(name) is not None and timestamp(claims[name]) is None:
            raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail=f"{name} is not a time")
    exp, iat = timestamp(claims.get("exp")), timestamp(claims.get("iat"))
    if exp is None or iat is None:
        # RFC 7519 §2 NumericDate: a number, finite, not a boolean (True is an int in
        # Python), and one a datetime can hold (1970..9999).
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail="exp and iat are required times")
    if now >= exp + skew:
        raise UpstreamInvalid(
            Reason.EXPIRED, detail=f"exp {exp}", facts=_time_facts("exp", exp, iat, expect)
        )
    if iat > now + skew:
        raise UpstreamInvalid(
            Reason.ISSUED_IN_FUTURE,
            detail=f"iat {iat}",
            facts=_time_facts("iat", iat, iat, expect),
        )
    nbf = timestamp(claims.get("nbf"))
    if nbf is not None and nbf > now + skew:
        facts = _time_facts("nbf", nbf, iat, expect)
        raise UpstreamInvalid(Reason.NOT_YET_VALID, detail=f"nbf {nbf}", facts=facts)
    auth_time = timestamp(claims.get("auth_time"))
    if expect.max_age is not None:
        if auth_time is None:
            raise UpstreamInvalid(Reason.AUTH_TIME_MISSING, detail="max_age was requested")
        if now - auth_time > expect.max_age + skew:
            raise UpstreamInvalid(
                Reason.STALE_AUTHENTICATION,
                detail=f"auth_time {auth_time}",
                facts={
                    **_time_facts("auth_time", auth_time, iat, expect),
                    "max_age_seconds": str(expect.max_age),
                },
            )


def _check_subject_and_nonce(claims: dict[str, Any], expect: IdTokenExpectations) -> None:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_CHARS:
        raise UpstreamInvalid(Reason.MISSING_SUBJECT, detail="sub absent, empty or too long")
    if "nonce_supported" in claims:
        # authlib issue #259: this claim once switched the nonce check off. Nothing honest
        # sends it.
        raise UpstreamInvalid(Reason.NONCE_SUPPORTED_CLAIM, detail="nonce_supported claim")
    nonce = claims.get("nonce")
    if not _same_ascii(nonce, expect.nonce):
        # Never the values: the expected nonce is this flow's secret.
        facts = {"nonce_in_token": "yes, a different one" if nonce is not None else "no"}
        raise UpstreamInvalid(
            Reason.NONCE_MISMATCH, detail="nonce absent or different", facts=facts
        )


def _time_facts(name: str, value: float, iat: float, expect: IdTokenExpectations) -> dict[str, str]:
    """A refused time claim beside our clock, and `iat` (required, so always there by now)
    as the best estimate of how far the IdP's clock is from ours."""
    return {
        "time_field": f"ID token {name} ({_TIME_CLAIMS.get(name, name)})",
        "idp_time": _iso(value),
        "our_time": _iso(expect.now.timestamp()),
        "clock_offset_seconds": str(round(value - expect.now.timestamp())),
        "allowed_skew_seconds": str(round(expect.skew.total_seconds())),
        "issue_instant": _iso(iat),
        "issue_instant_offset_seconds": str(round(iat - expect.now.timestamp())),
    }


def _iso(seconds: float) -> str:
    """`seconds` is a `timestamp()` (1970..9999) or our clock's: a datetime holds it."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _shown_list(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v)[:200] for v in value[:10]) or "(none)"
    return "(none)" if value is None else str(value)[:300]


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise UpstreamInvalid(Reason.ID_TOKEN_MALFORMED, detail=f"{what} is not base64url") from exc
    return parse_object(decoded, Reason.ID_TOKEN_MALFORMED, what)


def _same_ascii(value: object, expected: str) -> bool:
    """Constant-time equality of a claim with an ASCII value we made; `compare_digest`
    raises TypeError on a str that is not ASCII, so anything else is simply not equal."""
    return is_ascii_text(value) and hmac.compare_digest(str(value).encode(), expected.encode())
