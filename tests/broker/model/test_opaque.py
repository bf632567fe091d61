"""Ids and bearer secrets (broker/model/opaque.py): unguessable, stored as hashes,
recognized in constant time, and text that cannot be one of ours is told apart before any
lookup."""

from __future__ import annotations

import hashlib
import re

import pytest

from broker.model.opaque import (
    MAX_ID_CHARS,
    hash_secret,
    looks_like_id,
    new_id,
    new_secret,
    secret_matches,
    secrets_match,
)


def test_a_new_id_names_its_kind_and_is_unguessable() -> None:
    ids = {new_id("org") for _ in range(100)}
    assert len(ids) == 100
    for made in ids:
        assert re.fullmatch(r"org_[A-Za-z0-9_-]{22}", made)  # 128 bits


def test_a_new_secret_is_256_bits_url_safe() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for made in secrets:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", made)


def test_a_secret_is_stored_as_its_sha256() -> None:
    assert hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_secret("café") == hashlib.sha256("café".encode()).hexdigest()


@pytest.mark.parametrize(
    ("presented", "matches"),
    [("s3cret", True), ("s3cret ", False), ("S3cret", False), ("", False), ("s3cre", False)],
)
def test_a_secret_matches_only_its_own_hash(presented: str, matches: bool) -> None:
    assert secret_matches(presented, hash_secret("s3cret")) is matches


@pytest.mark.parametrize(
    ("presented", "previous", "matches"),
    [
        ("new", "old", True),
        ("old", "old", True),
        ("other", "old", False),
        ("new", None, True),
        ("old", None, False),
        ("", None, False),
    ],
)
def test_secrets_match_the_current_or_the_previous_secret(
    presented: str, previous: str | None, matches: bool
) -> None:
    previous_hash = hash_secret(previous) if previous is not None else None
    assert secrets_match(presented, hash_secret("new"), previous_hash) is matches


@pytest.mark.parametrize(
    ("text", "could_be"),
    [
        ("org_abc", True),
        ("gh_" + "x" * 22, True),
        ("!~", True),  # the printable ASCII range, both ends
        ("x" * MAX_ID_CHARS, True),
        ("x" * (MAX_ID_CHARS + 1), False),
        ("", False),
        (None, False),
        ("a b", False),
        ("a\x00b", False),  # PostgreSQL refuses a NUL in text
        ("a\nb", False),
        ("a\x7fb", False),
        ("café", False),
        ("\uff4f\uff52\uff47", False),  # fullwidth "org"
    ],
)
def test_what_looks_like_an_id(text: str | None, could_be: bool) -> None:
    assert looks_like_id(text) is could_be
