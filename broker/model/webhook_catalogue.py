"""Which audit events an app may receive as webhooks, and which endpoint wants which.

Prefix rules, not a closed list of kinds: a scheduled job that adds
`connection.certificate_expiring` or `domain.unverified` is deliverable the day it is
recorded, with no change here.

    organization.*  domain.*  connection.*  portal_link.*  directory.*
        queued for every event; a `*` subscription receives them
    login.*
        delivered only to endpoints that name `login.*` (or one login kind) explicitly:
        there is one per sign-in, so a catch-all `*` endpoint that did not ask for them
        must not be flooded by them; and queued only while an enabled endpoint wants
        one (`wants`), so sign-ins cost no outbox row and no fan-out when nobody listens
    webhook_endpoint.*
        explicit too, and queued the same way: the webhooks' own bookkeeping (created,
        secret rotated, disabled after three days of failures), for a monitoring endpoint
        that asks for it; a `*` endpoint would otherwise receive the news of its own
        creation

Any other kind (a circuit breaker's `idp.*`, management client bookkeeping) stays in the
audit log only, and is never queued.

An endpoint's `event_types` are patterns: an exact kind (`connection.activated`), a
family (`connection.*`) or a narrower prefix (`directory.user.*`), or `*` (every family
above but `login.*`).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Families every `*` subscription receives.
FAMILIES: tuple[str, ...] = ("organization", "domain", "connection", "portal_link", "directory")
#: Families only an explicit subscription receives (high volume; the webhooks' own).
OPT_IN_FAMILIES: tuple[str, ...] = ("login", "webhook_endpoint")
ALL_FAMILIES = FAMILIES + OPT_IN_FAMILIES
#: The longest pattern accepted (a kind is at most this long in the audit log too).
MAX_PATTERN = 200
_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")


def family(kind: str) -> str:
    return kind.split(".", 1)[0]


def queued(kind: str) -> bool:
    """Whether recording an event of this kind also queues it for delivery."""
    return "." in kind and family(kind) in ALL_FAMILIES


def opt_in(kind: str) -> bool:
    """Whether only an explicit subscription receives this kind (and so it is queued only
    while an enabled endpoint has one: `SqlAuditRepo.record`)."""
    return family(kind) in OPT_IN_FAMILIES


def wants(
    patterns: Iterable[str], organization_filter: str | None, kind: str,
    organization_id: str | None,
) -> bool:  # fmt: skip
    """Whether an endpoint (its patterns, its organization filter) receives an event of
    `kind` recorded for `organization_id`: the fan-out's rule, and the outbox's."""
    if organization_filter is not None and organization_filter != organization_id:
        return False
    return subscribed(patterns, kind)


def valid_pattern(pattern: str) -> bool:
    """`*`, `<family>.*`, an exact `<family>.<name>` of a deliverable family, or a deeper
    prefix (`directory.user.*`: the directory's user events, not its group events)."""
    if pattern == "*":
        return True
    if len(pattern) > MAX_PATTERN or "." not in pattern:
        return False
    head, rest = pattern.split(".", 1)
    if head not in ALL_FAMILIES or not rest:
        return False
    if rest == "*":
        return True
    name = rest.removesuffix(".*")
    return (
        bool(name)
        and set(name) <= _KIND_CHARS
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )


def subscribed(patterns: Iterable[str], kind: str) -> bool:
    """Whether an endpoint with these patterns receives an event of `kind`."""
    if not queued(kind):
        return False
    for pattern in patterns:
        if pattern == kind:
            return True
        if pattern.endswith(".*") and kind.startswith(pattern[:-1]):
            return True
        if pattern == "*" and family(kind) not in OPT_IN_FAMILIES:
            return True
    return False
