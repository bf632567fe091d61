"""Which IdP domains (Auth0: `options.domain_aliases`, the dashboard's "IdP Domains") the
Gatehouse connection should list, and the record of the ones Gatehouse itself added.

Identifier First sends a person to the connection whose IdP domains hold their email's
domain, so the list must follow the domains organizations verify and release. An app team
may also list domains of its own there; Gatehouse must never remove one it did not add.
It remembers what it added in the connection's `metadata` (Auth0 keeps at most 10 keys of
at most 255 characters each), so no Gatehouse table and no migration is needed, and the
record travels with the connection it describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Auth0's limits on a connection's metadata (Management API, `ConnectionsMetadata`).
METADATA_MAX_KEYS = 10
METADATA_MAX_VALUE = 255

#: The record's keys: `gatehouse_aliases`, then `gatehouse_aliases_2`... as it grows.
RECORD_KEY = "gatehouse_aliases"


class AliasRecordFull(ValueError):
    """The record of Gatehouse's aliases does not fit in the metadata Auth0 allows."""


@dataclass(frozen=True, slots=True)
class AliasPlan:
    """What a sync changes: `aliases` and `added_by_gatehouse` are the new state."""

    aliases: tuple[str, ...]
    added_by_gatehouse: frozenset[str]
    to_add: tuple[str, ...]
    to_remove: tuple[str, ...]
    #: Listed by someone else (the app team): left alone whatever happens to the domain.
    not_ours: tuple[str, ...]

    @property
    def changes(self) -> bool:
        return bool(self.to_add or self.to_remove)


def plan_aliases(
    current: Sequence[str], added_by_gatehouse: Iterable[str], verified: Iterable[str]
) -> AliasPlan:
    """The new alias list: every verified domain listed; a domain Gatehouse added that is no
    longer verified removed; any other alias kept, in its place. A verified domain that was
    already listed by someone else stays theirs: Gatehouse does not claim it, so releasing it
    later does not remove it. Compared lowercase (domains are case-insensitive; Gatehouse
    stores them normalised)."""
    wanted = {d.lower(): None for d in verified}
    ours = {d.lower() for d in added_by_gatehouse}
    listed = {a.lower() for a in current}
    kept = [a for a in current if a.lower() not in ours or a.lower() in wanted]
    to_remove = tuple(a for a in current if a.lower() in ours and a.lower() not in wanted)
    to_add = tuple(sorted(d for d in wanted if d not in listed))
    record = frozenset(d for d in wanted if d in ours or d not in listed)
    return AliasPlan(
        aliases=(*kept, *to_add),
        added_by_gatehouse=record,
        to_add=to_add,
        to_remove=to_remove,
        not_ours=tuple(a for a in current if a.lower() not in ours),
    )


def read_record(metadata: Mapping[str, str | None] | None) -> frozenset[str]:
    """The aliases Gatehouse recorded as its own in a connection's metadata."""
    found: set[str] = set()
    for key, value in (metadata or {}).items():
        if _is_record_key(key) and value:
            found.update(part for part in value.split(",") if part)
    return frozenset(found)


def write_record(
    metadata: Mapping[str, str | None] | None, added_by_gatehouse: Iterable[str]
) -> dict[str, str | None]:
    """The connection's metadata with the record replaced; every other key kept (PATCH
    replaces the whole object). AliasRecordFull when it would break Auth0's limits."""
    others = {k: v for k, v in (metadata or {}).items() if not _is_record_key(k)}
    domains = sorted(added_by_gatehouse)
    chunks = _chunks(domains)
    if len(others) + len(chunks) > METADATA_MAX_KEYS:
        raise AliasRecordFull(
            f"recording {len(domains)} domains needs {len(chunks)} of the connection's "
            "metadata keys and "
            f"{len(others)} are taken by others; Auth0 allows {METADATA_MAX_KEYS}"
        )
    record = {_record_key(i): chunk for i, chunk in enumerate(chunks)}
    return {**others, **record}


def _chunks(domains: Sequence[str]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for domain in domains:
        if len(domain) > METADATA_MAX_VALUE:
            raise AliasRecordFull(f"{domain!r} is longer than a metadata value may be")
        joined = f"{current},{domain}" if current else domain
        if len(joined) > METADATA_MAX_VALUE:
            chunks.append(current)
            joined = domain
        current = joined
    if current:
        chunks.append(current)
    return chunks


def _record_key(index: int) -> str:
    return RECORD_KEY if index == 0 else f"{RECORD_KEY}_{index + 1}"


def _is_record_key(key: str) -> bool:
    if key == RECORD_KEY:
        return True
    prefix, _, number = key.rpartition("_")
    return prefix == RECORD_KEY and number.isdigit()
