"""The directory the simulator pushes: N people, M groups and their memberships, the same
for the same seed on every run and every machine.

Deterministic so that a benchmark run, a test and a developer's page run push identical
data, and a failure names a person who exists again on the next run. Values come from
SHA-256 of the seed and an index (the `random` module is banned in this codebase, and a
hash is as reproducible).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

__all__ = ["DOMAIN", "Directory", "SimGroup", "SimUser", "build_directory"]

DOMAIN = "scim.example"

_GIVEN = (
    "Ada", "Amara", "Ben", "Chen", "Dana", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas",
    "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
    "Uma", "Viktor", "Wen", "Yara", "Zoe",
)  # fmt: skip
_FAMILY = (
    "Abara", "Berg", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi",
    "Silva", "Tanaka", "Underwood", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip
_TEAMS = (
    "Engineering", "Finance", "Legal", "Marketing", "Operations", "People", "Sales",
    "Security", "Support", "Design",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class SimUser:
    """One person as the directory knows them. `external_id` is the IdP's own id for the
    person (Okta's user id, Entra's objectId): stable across renames and email changes."""

    index: int
    external_id: str
    user_name: str
    given_name: str
    family_name: str
    email: str
    active: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def renamed(self, family_name: str) -> SimUser:
        return replace(self, family_name=family_name)

    def with_email(self, email: str) -> SimUser:
        """A new work email; the userName follows it, as both vendors map userName to
        the email (Okta's default `userName` is the login, Entra's the UPN)."""
        return replace(self, email=email, user_name=email)


@dataclass(frozen=True, slots=True, kw_only=True)
class SimGroup:
    index: int
    external_id: str
    display_name: str
    members: tuple[int, ...]
    """Indexes of the member users."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Directory:
    seed: str
    users: tuple[SimUser, ...]
    groups: tuple[SimGroup, ...]

    @property
    def memberships(self) -> int:
        return sum(len(group.members) for group in self.groups)


def _digest(seed: str, kind: str, index: int) -> bytes:
    return hashlib.sha256(f"{seed}\x00{kind}\x00{index}".encode()).digest()


def _user(seed: str, index: int) -> SimUser:
    digest = _digest(seed, "user", index)
    given = _GIVEN[digest[0] % len(_GIVEN)]
    family = _FAMILY[digest[1] % len(_FAMILY)]
    # The index keeps emails unique however the names collide.
    email = f"{given.lower()}.{family.lower()}.{index}@{DOMAIN}"
    return SimUser(
        index=index,
        external_id=digest[2:14].hex(),
        user_name=email,
        given_name=given,
        family_name=family,
        email=email,
    )


def build_directory(users: int, groups: int, *, seed: str = "gatehouse") -> Directory:
    """`users` people and `groups` groups; each person belongs to exactly one group (person
    i to group i mod M), so N people make N memberships, spread evenly: 10,000 and 500
    give 20 members a group, the benchmark's shape."""
    if users < 0 or groups < 0:
        raise ValueError("the numbers of users and groups cannot be negative")
    people = tuple(_user(seed, index) for index in range(users))
    teams = tuple(
        SimGroup(
            index=index,
            external_id=_digest(seed, "group", index)[:12].hex(),
            display_name=f"{_TEAMS[index % len(_TEAMS)]} {index}",
            members=tuple(range(index, users, groups)),
        )
        for index in range(groups)
    )
    return Directory(seed=seed, users=people, groups=teams)
