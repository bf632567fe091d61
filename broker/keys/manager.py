"""The signing key manager: which key signs, which keys are published, and rotation.

The state lives in the store (`KeyRepo`), so every process of a deployment (web workers, the
CLI) agrees on it; each process only caches what is expensive to rebuild (parsed private keys)
and re-reads which key is current every `current_ttl`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from joserfc.jwk import RSAKey

from broker.clock import Clock
from broker.errors import BrokerError
from broker.keys.crypto import SecretBox, generate_rsa_private_key, private_key_to_pem
from broker.model.records import KeyState, SigningKeyRecord
from broker.store.protocols import AlreadyExists, Conflict, Store, UnitOfWork

RS256 = "RS256"
_RSA_BITS = 2048
_ENSURE_ATTEMPTS = 5
_STATE_ORDER = {KeyState.CURRENT: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}
# RFC 7517 §4 and RFC 7518 §6.3.1: the only members an RSA public JWK needs. Anything else
# (above all the private members d, p, q, dp, dq, qi of RFC 7518 §6.3.2) is never published.
_PUBLIC_JWK_MEMBERS = ("kty", "n", "e", "kid", "alg", "use")


class NoSigningKeyError(BrokerError):
    """The store holds no usable key in the state an operation needs."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A parsed private key ready for joserfc; `kid` goes into the JWS header."""

    kid: str
    alg: str
    key: RSAKey


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyInfo:
    """What `gatehouse keys list` shows: the life cycle, never key material."""

    kid: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None


class KeyManager:
    """Signs with the CURRENT key, publishes CURRENT + NEXT + recently RETIRED keys.

    `retire_after` must be at least the longest lifetime of anything we sign plus clock
    skew: a retired key stays in the JWKS that long, so every token it signed can still be
    verified until it expires.
    """

    def __init__(
        self,
        store: Store,
        box: SecretBox,
        clock: Clock,
        *,
        retire_after: timedelta,
        current_ttl: timedelta = timedelta(seconds=5),
    ) -> None:
        if retire_after <= timedelta(0):
            raise ValueError("retire_after must be positive")
        if current_ttl < timedelta(0):
            raise ValueError("current_ttl must not be negative")
        self._store = store
        self._box = box
        self._clock = clock
        self._retire_after = retire_after
        self._current_ttl = current_ttl
        self._lock = threading.Lock()
        self._current: tuple[str, datetime] | None = None
        self._parsed: dict[str, SigningKey] = {}

    def ensure_keys(self) -> None:
        """Bring the store to exactly one CURRENT and one NEXT key; a no-op when it is.

        Run at startup and by `gatehouse migrate`, possibly by several processes at once.
        The store holds at most one key in each of those states (`KeyRepo`), so of two
        processes bootstrapping at once one loses a write (AlreadyExists, Conflict): its
        unit of work is rolled back and the state read again.
        """
        for _ in range(_ENSURE_ATTEMPTS):
            try:
                with self._store.unit_of_work() as uow:
                    if self._repair(uow, self._clock.now()):
                        return
            except (AlreadyExists, Conflict):
                continue
        raise Conflict("signing keys kept changing while ensuring a CURRENT and a NEXT key")

    def rotate(self) -> SigningKeyRecord:
        """NEXT becomes CURRENT, CURRENT becomes RETIRED, a new NEXT is created and RETIRED
        keys past retention are deleted, all in one unit of work; returns the new CURRENT.

        Safe for logins in flight: the new CURRENT was published as NEXT before it signs
        anything, so a relying party with a cached JWKS can verify its first token, and the
        old key stays published while RETIRED. Every state change is a `transition` (CAS), so
        of two concurrent rotations one raises `Conflict` and changes nothing. Keys leave a
        state before another enters it, so a uniqueness constraint on the CURRENT and NEXT
        states never fires midway.
        """
        now = self._clock.now()
        fresh_next = self._new_record(KeyState.NEXT, now)
        with self._store.unit_of_work() as uow:
            records = uow.keys.list()
            following = _in_state(records, KeyState.NEXT)
            if following is None:
                raise NoSigningKeyError(
                    "no NEXT signing key to promote; run `gatehouse migrate` to create one"
                )
            for record in records:
                if record.state == KeyState.CURRENT:
                    self._retire(uow, record, now)
            promoted = replace(following, state=KeyState.CURRENT, activated_at=now)
            uow.keys.transition(promoted.kid, from_state=KeyState.NEXT, to=promoted)
            uow.keys.add(fresh_next)
            for record in records:
                if record.state == KeyState.RETIRED and not self._retained(record, now):
                    uow.keys.delete(record.kid)
        with self._lock:
            self._current = None
        return promoted

    def signing_key(self) -> SigningKey:
        """The CURRENT key, parsed.

        Which kid is current is re-read at most every `current_ttl` (by the injected clock),
        so a rotation done by another process is picked up within seconds; meanwhile this
        process may sign with a just-retired key, which is harmless because it is still
        published. Parsed keys are cached by kid, since decrypting and parsing is not free.
        """
        now = self._clock.now()
        with self._lock:
            if self._current is not None:
                kid, read_at = self._current
                if read_at <= now < read_at + self._current_ttl:
                    return self._parsed[kid]
            with self._store.unit_of_work() as uow:
                records = uow.keys.list()
            current = _in_state(records, KeyState.CURRENT)
            if current is None:
                raise NoSigningKeyError(
                    "no CURRENT signing key; run `gatehouse migrate` to create the keys"
                )
            live = {r.kid for r in records}
            self._parsed = {k: v for k, v in self._parsed.items() if k in live}
            if current.kid not in self._parsed:
                self._parsed[current.kid] = self._parse(current)
            self._current = (current.kid, now)
            return self._parsed[current.kid]

    def next_key(self) -> SigningKey:
        """The NEXT key, decrypted and parsed: the one `rotate` promotes. Read for a check
        (`gatehouse doctor`) that a rotation would not fail to sign; nothing signs with it."""
        with self._store.unit_of_work() as uow:
            following = _in_state(uow.keys.list(), KeyState.NEXT)
        if following is None:
            raise NoSigningKeyError("no NEXT signing key; run `gatehouse migrate` to create one")
        return self._parse(following)

    def public_jwks(self) -> dict[str, object]:
        """The JWK Set (RFC 7517 §5) relying parties verify with: CURRENT first, then NEXT,
        then RETIRED keys still within retention. Only public members are copied out of the
        stored JWK, so a private member can never leak here whatever the row holds."""
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            records = uow.keys.list()
        published = [
            r for r in _ordered(records) if r.state != KeyState.RETIRED or self._retained(r, now)
        ]
        return {"keys": [_public_members(r) for r in published]}

    def list_keys(self) -> list[KeyInfo]:
        with self._store.unit_of_work() as uow:
            records = uow.keys.list()
        return [
            KeyInfo(
                kid=r.kid,
                state=r.state,
                created_at=r.created_at,
                activated_at=r.activated_at,
                retired_at=r.retired_at,
            )
            for r in _ordered(records)
        ]

    def _repair(self, uow: UnitOfWork, now: datetime) -> bool:
        """One attempt at the CURRENT + NEXT invariant; True if it already held. A missing
        CURRENT is the published NEXT promoted (tokens it signs verify at once), or a new
        key when there is none; then a new NEXT."""
        records = uow.keys.list()
        current = _in_state(records, KeyState.CURRENT)
        following = _in_state(records, KeyState.NEXT)
        if current is not None and following is not None:
            return True
        if current is None and following is not None:
            promoted = replace(following, state=KeyState.CURRENT, activated_at=now)
            uow.keys.transition(promoted.kid, from_state=KeyState.NEXT, to=promoted)
        elif current is None:
            uow.keys.add(self._new_record(KeyState.CURRENT, now))
        uow.keys.add(self._new_record(KeyState.NEXT, now))
        return False

    def _retire(self, uow: UnitOfWork, record: SigningKeyRecord, now: datetime) -> None:
        retired = replace(record, state=KeyState.RETIRED, retired_at=now)
        uow.keys.transition(record.kid, from_state=record.state, to=retired)

    def _retained(self, record: SigningKeyRecord, now: datetime) -> bool:
        return record.retired_at is None or now < record.retired_at + self._retire_after

    def _new_record(self, state: str, now: datetime) -> SigningKeyRecord:
        private_key = generate_rsa_private_key(_RSA_BITS)
        jwk = RSAKey.import_key(private_key)
        kid = jwk.thumbprint()
        public = jwk.as_dict(private=False)
        public_jwk = {
            "kty": "RSA",
            "n": public["n"],
            "e": public["e"],
            "kid": kid,
            "alg": RS256,
            "use": "sig",
        }
        return SigningKeyRecord(
            kid=kid,
            alg=RS256,
            state=state,
            private_key_encrypted=self._box.encrypt(
                private_key_to_pem(private_key), context=signing_key_context(kid)
            ),
            public_jwk=public_jwk,
            created_at=now,
            activated_at=now if state == KeyState.CURRENT else None,
        )

    def _parse(self, record: SigningKeyRecord) -> SigningKey:
        pem = self._box.decrypt(
            record.private_key_encrypted, context=signing_key_context(record.kid)
        )
        key = RSAKey.import_key(
            pem, parameters={"kid": record.kid, "alg": record.alg, "use": "sig"}
        )
        return SigningKey(kid=record.kid, alg=record.alg, key=key)


def signing_key_context(kid: str) -> str:
    return f"signing_key:{kid}"


def _in_state(records: Iterable[SigningKeyRecord], state: str) -> SigningKeyRecord | None:
    """The key in a live state (CURRENT, NEXT): the store holds at most one of each."""
    return next((r for r in records if r.state == state), None)


def _ordered(records: Sequence[SigningKeyRecord]) -> list[SigningKeyRecord]:
    """CURRENT, NEXT, then RETIRED newest first."""
    return sorted(
        records,
        key=lambda r: (
            _STATE_ORDER.get(r.state, len(_STATE_ORDER)),
            -(r.retired_at or r.created_at).timestamp(),
            r.kid,
        ),
    )


def _public_members(record: SigningKeyRecord) -> dict[str, object]:
    return {
        name: record.public_jwk[name] for name in _PUBLIC_JWK_MEMBERS if name in record.public_jwk
    }
