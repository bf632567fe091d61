"""KeyManager against the real store, on every backend (the `store` fixture)."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any, TypeVar, cast

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from broker.clock import FixedClock
from broker.keys import KeyDecryptionError, KeyManager, NoSigningKeyError, SecretBox
from broker.model.records import KeyState, SigningKeyRecord
from broker.store.protocols import AlreadyExists, Conflict, Store, UnitOfWork

RETIRE_AFTER = timedelta(minutes=15)
CURRENT_TTL = timedelta(seconds=5)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}
THREADS = 4

T = TypeVar("T")


@pytest.fixture(scope="module")
def box() -> SecretBox:
    return SecretBox(secrets.token_bytes(32))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def manager(store: Store, box: SecretBox, clock: FixedClock) -> KeyManager:
    return new_manager(store, box, clock)


def new_manager(store: Store, box: SecretBox, clock: FixedClock) -> KeyManager:
    return KeyManager(store, box, clock, retire_after=RETIRE_AFTER, current_ttl=CURRENT_TTL)


def records(store: Store) -> list[SigningKeyRecord]:
    with store.unit_of_work() as uow:
        return list(uow.keys.list())


def kids_in(state: str, manager: KeyManager) -> list[str]:
    return [info.kid for info in manager.list_keys() if info.state == state]


def published_kids(manager: KeyManager) -> list[str]:
    keys = cast(list[dict[str, Any]], manager.public_jwks()["keys"])
    return [key["kid"] for key in keys]


def sign(manager: KeyManager) -> str:
    key = manager.signing_key()
    return jwt.encode({"alg": key.alg, "kid": key.kid}, {"sub": "someone"}, key.key)


def verifies(token: str, manager: KeyManager) -> bool:
    jwks = manager.public_jwks()
    if not jwks["keys"]:
        return False
    key_set = KeySet.import_key_set(cast(Any, jwks))
    try:
        jwt.decode(token, key_set, algorithms=["RS256"])
    except JoseError:
        return False
    return True


def run_concurrently(
    managers: list[KeyManager], action: Callable[[KeyManager], T]
) -> list[T | Exception]:
    """Run `action` once per manager, each in its own thread, released at the same instant
    (as separate processes would be); return each result or error."""
    barrier = threading.Barrier(len(managers))

    def attempt(manager: KeyManager) -> T | Exception:
        barrier.wait()
        try:
            return action(manager)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(managers)) as pool:
        return list(pool.map(attempt, managers))


def test_ensure_keys_is_idempotent(manager: KeyManager) -> None:
    manager.ensure_keys()
    first = manager.list_keys()
    manager.ensure_keys()

    assert manager.list_keys() == first
    assert sorted(info.state for info in first) == [KeyState.CURRENT, KeyState.NEXT]
    current, following = first
    assert current.state == KeyState.CURRENT
    assert current.activated_at is not None
    assert following.activated_at is None
    assert current.retired_at is None
    assert following.retired_at is None


def test_ensure_keys_promotes_a_published_next_key_when_current_is_missing(
    store: Store, manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    (current,) = (r for r in records(store) if r.state == KeyState.CURRENT)
    (following,) = kids_in(KeyState.NEXT, manager)
    with store.unit_of_work() as uow:
        uow.keys.delete(current.kid)
    clock.advance(timedelta(minutes=1))

    manager.ensure_keys()

    assert kids_in(KeyState.CURRENT, manager) == [following]
    assert len(kids_in(KeyState.NEXT, manager)) == 1


def test_ensure_keys_adds_a_next_key_when_only_current_is_left(
    store: Store, manager: KeyManager
) -> None:
    manager.ensure_keys()
    (current,) = kids_in(KeyState.CURRENT, manager)
    (following,) = kids_in(KeyState.NEXT, manager)
    with store.unit_of_work() as uow:
        uow.keys.delete(following)

    manager.ensure_keys()

    assert kids_in(KeyState.CURRENT, manager) == [current]
    (new_next,) = kids_in(KeyState.NEXT, manager)
    assert new_next not in (current, following)


def test_ensure_keys_starts_afresh_beside_retired_keys(
    store: Store, manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    manager.rotate()
    with store.unit_of_work() as uow:
        for record in uow.keys.list():
            if record.state != KeyState.RETIRED:
                uow.keys.delete(record.kid)
    (retired,) = kids_in(KeyState.RETIRED, manager)

    manager.ensure_keys()

    states = Counter(info.state for info in manager.list_keys())
    assert states == {KeyState.CURRENT: 1, KeyState.NEXT: 1, KeyState.RETIRED: 1}
    assert retired in kids_in(KeyState.RETIRED, manager)


class StaleKeyReads:
    """The real store, except that its first `stale` listings of the keys show them as they
    were before another process wrote: what a process that lost a race read (on PostgreSQL
    two transactions can both read an empty table). Writes go to the real table, so the
    loser's write meets the winner's key and the store refuses it."""

    def __init__(self, store: Store, before: Sequence[SigningKeyRecord], stale: int) -> None:
        self._store = store
        self._before = list(before)
        self.stale = stale
        self.attempts = 0

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        self.attempts += 1
        with self._store.unit_of_work() as uow:
            if self.stale > 0:
                self.stale -= 1
                yield cast(UnitOfWork, _StaleUnitOfWork(uow, self._before))
            else:
                yield uow


class _StaleUnitOfWork:
    def __init__(self, uow: UnitOfWork, before: list[SigningKeyRecord]) -> None:
        self._uow = uow
        self.keys = _StaleKeys(uow, before)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)


class _StaleKeys:
    def __init__(self, uow: UnitOfWork, before: list[SigningKeyRecord]) -> None:
        self._keys = uow.keys
        self._before = before

    def list(self) -> list[SigningKeyRecord]:
        return self._before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._keys, name)


@pytest.mark.parametrize("before", ["empty", "next-only"])
def test_ensure_keys_that_lost_a_race_reads_again_and_succeeds(
    store: Store, box: SecretBox, clock: FixedClock, before: str
) -> None:
    winner = new_manager(store, box, clock)
    winner.ensure_keys()
    seen = [r for r in records(store) if r.state == KeyState.NEXT] if before == "next-only" else []
    if seen:
        # The NEXT key this process saw has since been promoted by the winner.
        winner.rotate()
    settled = records(store)
    racing = StaleKeyReads(store, seen, stale=1)

    new_manager(cast(Store, racing), box, clock).ensure_keys()

    assert racing.attempts == 2
    assert records(store) == settled


def test_ensure_keys_gives_up_when_the_keys_keep_changing(
    store: Store, box: SecretBox, clock: FixedClock
) -> None:
    new_manager(store, box, clock).ensure_keys()
    settled = records(store)
    racing = StaleKeyReads(store, [], stale=100)

    with pytest.raises(Conflict, match="kept changing"):
        new_manager(cast(Store, racing), box, clock).ensure_keys()

    assert racing.attempts == 5
    assert records(store) == settled


def test_every_lost_write_is_refused_by_the_store_itself(store: Store, manager: KeyManager) -> None:
    """What the retries above rely on (the store's contract, not the manager's care)."""
    manager.ensure_keys()
    (following,) = (r for r in records(store) if r.state == KeyState.NEXT)
    with store.unit_of_work() as uow, pytest.raises(AlreadyExists):
        uow.keys.add(replace(following, kid="another", state=KeyState.CURRENT))


@pytest.mark.parametrize(
    ("retire_after", "current_ttl", "message"),
    [
        (timedelta(0), timedelta(seconds=5), "retire_after must be positive"),
        (timedelta(seconds=-1), timedelta(seconds=5), "retire_after must be positive"),
        (RETIRE_AFTER, timedelta(seconds=-1), "current_ttl must not be negative"),
    ],
)
def test_a_manager_refuses_lifetimes_that_cannot_work(
    store: Store, box: SecretBox, clock: FixedClock, retire_after: timedelta,
    current_ttl: timedelta, message: str,
) -> None:  # fmt: skip
    with pytest.raises(ValueError, match=message):
        KeyManager(store, box, clock, retire_after=retire_after, current_ttl=current_ttl)


def test_a_current_ttl_of_zero_reads_the_store_every_time(
    store: Store, box: SecretBox, clock: FixedClock
) -> None:
    server = KeyManager(store, box, clock, retire_after=RETIRE_AFTER, current_ttl=timedelta(0))
    cli = new_manager(store, box, clock)
    server.ensure_keys()
    server.signing_key()

    rotated = cli.rotate()

    assert server.signing_key().kid == rotated.kid


def test_a_key_is_decrypted_once_while_it_stays_current(
    manager: KeyManager, clock: FixedClock
) -> None:
    """Which key is current is read again after `current_ttl`; the parsed key is kept."""
    manager.ensure_keys()
    first = manager.signing_key()
    clock.advance(CURRENT_TTL)
    assert manager.signing_key() is first
    clock.advance(timedelta(minutes=1))
    manager.rotate()
    assert manager.signing_key() is not first


def test_kid_is_the_rfc7638_thumbprint(manager: KeyManager) -> None:
    manager.ensure_keys()
    keys = cast(list[dict[str, Any]], manager.public_jwks()["keys"])
    for jwk in keys:
        assert RSAKey.import_key(jwk).thumbprint() == jwk["kid"]


def test_jwks_publishes_current_then_next_and_no_private_members(manager: KeyManager) -> None:
    manager.ensure_keys()
    keys = cast(list[dict[str, Any]], manager.public_jwks()["keys"])

    assert [key["kid"] for key in keys] == [
        *kids_in(KeyState.CURRENT, manager),
        *kids_in(KeyState.NEXT, manager),
    ]
    for key in keys:
        assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
        assert not PRIVATE_MEMBERS & set(key)
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")


def test_jwks_never_copies_private_members_out_of_a_stored_jwk(
    store: Store, manager: KeyManager, clock: FixedClock
) -> None:
    private = RSAKey.generate_key(2048).as_dict(private=True)
    kid = RSAKey.import_key(private).thumbprint()
    with store.unit_of_work() as uow:
        uow.keys.add(
            SigningKeyRecord(
                kid=kid,
                alg="RS256",
                state=KeyState.RETIRED,
                private_key_encrypted=b"unused",
                public_jwk={**private, "kid": kid, "alg": "RS256", "use": "sig"},
                created_at=clock.now(),
                retired_at=clock.now(),
            )
        )

    (published,) = cast(list[dict[str, Any]], manager.public_jwks()["keys"])

    assert published["kid"] == kid
    assert not PRIVATE_MEMBERS & set(published)


def test_token_from_signing_key_verifies_against_jwks(manager: KeyManager) -> None:
    manager.ensure_keys()
    key = manager.signing_key()

    assert (key.alg, [key.kid]) == ("RS256", kids_in(KeyState.CURRENT, manager))
    assert key.key.is_private
    token = sign(manager)
    assert verifies(token, manager)
    assert jwt.decode(token, key.key).header["kid"] == key.kid


def test_signing_key_without_keys_says_what_to_run(manager: KeyManager) -> None:
    with pytest.raises(NoSigningKeyError, match="gatehouse migrate"):
        manager.signing_key()


def test_next_key_is_the_one_a_rotation_promotes_decrypted(
    store: Store, manager: KeyManager, box: SecretBox, clock: FixedClock
) -> None:
    with pytest.raises(NoSigningKeyError, match="gatehouse migrate"):
        manager.next_key()
    manager.ensure_keys()
    (following,) = kids_in(KeyState.NEXT, manager)
    parsed = manager.next_key()
    assert parsed.kid == following
    assert manager.rotate().kid == following
    with pytest.raises(KeyDecryptionError):
        new_manager(store, SecretBox(secrets.token_bytes(32)), clock).next_key()


def test_rotate_without_keys_says_what_to_run(manager: KeyManager) -> None:
    with pytest.raises(NoSigningKeyError, match="gatehouse migrate"):
        manager.rotate()


def test_rotate_promotes_the_already_published_next_key(
    manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    (old_current,) = kids_in(KeyState.CURRENT, manager)
    (old_next,) = kids_in(KeyState.NEXT, manager)
    assert old_next in published_kids(manager)
    clock.advance(timedelta(hours=1))

    promoted = manager.rotate()

    assert (promoted.kid, promoted.state, promoted.activated_at) == (
        old_next,
        KeyState.CURRENT,
        clock.now(),
    )
    states = {info.kid: info for info in manager.list_keys()}
    assert states[old_next].state == KeyState.CURRENT
    assert states[old_current].state == KeyState.RETIRED
    assert states[old_current].retired_at == clock.now()
    (new_next,) = kids_in(KeyState.NEXT, manager)
    assert new_next not in (old_current, old_next)
    assert published_kids(manager) == [old_next, new_next, old_current]
    assert manager.signing_key().kid == old_next


def test_tokens_stay_verifiable_while_retired_and_stop_after_retention(
    manager: KeyManager, clock: FixedClock
) -> None:
    manager.ensure_keys()
    token = sign(manager)
    first_kid = manager.signing_key().kid

    clock.advance(timedelta(minutes=1))
    manager.rotate()
    assert verifies(token, manager)
    clock.advance(timedelta(minutes=1))
    manager.rotate()
    assert verifies(token, manager)
    assert first_kid in published_kids(manager)

    clock.advance(RETIRE_AFTER - timedelta(minutes=1, seconds=1))
    assert verifies(token, manager)
    clock.advance(timedelta(seconds=1))
    assert first_kid not in published_kids(manager)
    assert not verifies(token, manager)
    assert first_kid in [info.kid for info in manager.list_keys()]

    manager.rotate()
    assert first_kid not in [info.kid for info in manager.list_keys()]
    assert len(kids_in(KeyState.RETIRED, manager)) == 2


def test_another_process_picks_up_a_rotation_after_current_ttl(
    store: Store, box: SecretBox, clock: FixedClock
) -> None:
    server = new_manager(store, box, clock)
    cli = new_manager(store, box, clock)
    server.ensure_keys()
    before = server.signing_key().kid

    rotated = cli.rotate()

    assert server.signing_key().kid == before
    stale_token = sign(server)
    clock.advance(CURRENT_TTL)
    assert server.signing_key().kid == rotated.kid
    assert verifies(stale_token, server)
    assert verifies(sign(server), cli)


def test_concurrent_ensure_keys_ends_with_one_current_and_one_next(
    store: Store, box: SecretBox, clock: FixedClock
) -> None:
    managers = [new_manager(store, box, clock) for _ in range(THREADS)]

    outcomes = run_concurrently(managers, KeyManager.ensure_keys)

    assert outcomes == [None] * THREADS
    states = Counter(r.state for r in records(store))
    assert (states[KeyState.CURRENT], states[KeyState.NEXT]) == (1, 1)
    kids = {m.signing_key().kid for m in managers}
    assert kids == set(kids_in(KeyState.CURRENT, managers[0]))


def test_concurrent_rotations_never_both_win_on_the_same_state(
    store: Store, box: SecretBox, clock: FixedClock
) -> None:
    new_manager(store, box, clock).ensure_keys()
    managers = [new_manager(store, box, clock) for _ in range(THREADS)]

    outcomes = run_concurrently(managers, KeyManager.rotate)

    wins = [o for o in outcomes if isinstance(o, SigningKeyRecord)]
    losses = [o for o in outcomes if not isinstance(o, SigningKeyRecord)]
    assert wins
    assert all(isinstance(loss, Conflict) for loss in losses), losses
    assert len({win.kid for win in wins}) == len(wins)
    states = Counter(r.state for r in records(store))
    assert (states[KeyState.CURRENT], states[KeyState.NEXT]) == (1, 1)
    assert states[KeyState.RETIRED] == len(wins)


def test_private_keys_are_encrypted_at_rest(
    store: Store, manager: KeyManager, box: SecretBox
) -> None:
    manager.ensure_keys()
    for record in records(store):
        blob = record.private_key_encrypted
        pem = box.decrypt(blob, context=f"signing_key:{record.kid}")
        body = b"".join(pem.splitlines()[1:-1])
        assert b"PRIVATE KEY" not in blob
        assert body[:32] not in blob
        assert RSAKey.import_key(pem).thumbprint() == record.kid
        with pytest.raises(KeyDecryptionError):
            box.decrypt(blob, context="signing_key:another-kid")


def test_list_keys_carries_no_key_material(manager: KeyManager) -> None:
    manager.ensure_keys()
    infos = manager.list_keys()
    assert len(infos) == 2
    for info in infos:
        assert {field.name for field in fields(info)} == {
            "kid",
            "state",
            "created_at",
            "activated_at",
            "retired_at",
        }
