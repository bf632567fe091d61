"""The IdP-domain plan and the record of Gatehouse's own aliases in connection metadata:
examples for each rule, then properties over any lists (the metadata is read back from
Auth0, where anyone with dashboard access can edit it)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from broker.auth0.aliases import (
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE,
    AliasRecordFull,
    plan_aliases,
    read_record,
    write_record,
)


def test_a_verified_domain_is_added_and_recorded() -> None:
    plan = plan_aliases([], [], ["acme.example"])
    assert plan.aliases == ("acme.example",)
    assert plan.to_add == ("acme.example",)
    assert plan.added_by_gatehouse == {"acme.example"}


def test_a_released_domain_gatehouse_added_is_removed() -> None:
    plan = plan_aliases(["acme.example", "globex.example"], ["acme.example", "globex.example"],
                        ["globex.example"])  # fmt: skip
    assert plan.aliases == ("globex.example",)
    assert plan.to_remove == ("acme.example",)
    assert plan.added_by_gatehouse == {"globex.example"}


def test_an_alias_gatehouse_did_not_add_is_never_removed() -> None:
    plan = plan_aliases(["partner.example"], [], [])
    assert plan.aliases == ("partner.example",)
    assert not plan.changes
    assert plan.not_ours == ("partner.example",)


def test_a_verified_domain_someone_else_listed_stays_theirs() -> None:
    """Verified later, released later: it was theirs before Gatehouse, it stays listed."""
    verified = plan_aliases(["partner.example"], [], ["partner.example"])
    assert verified.added_by_gatehouse == frozenset()
    released = plan_aliases(verified.aliases, verified.added_by_gatehouse, [])
    assert released.aliases == ("partner.example",)


def test_domains_compare_without_case() -> None:
    plan = plan_aliases(["ACME.example"], ["acme.example"], ["acme.example"])
    assert plan.aliases == ("ACME.example",)
    assert not plan.changes


def test_the_record_round_trips_and_keeps_other_keys() -> None:
    metadata = write_record({"team": "identity"}, {"b.example", "a.example"})
    assert metadata == {"team": "identity", "gatehouse_aliases": "a.example,b.example"}
    assert read_record(metadata) == {"a.example", "b.example"}
    assert write_record(metadata, []) == {"team": "identity"}


def test_a_long_record_spreads_over_keys_within_auth0s_limits() -> None:
    domains = {f"customer-{i:04d}.example" for i in range(60)}
    metadata = write_record({}, domains)
    assert len(metadata) > 1
    assert all(len(v or "") <= METADATA_MAX_VALUE for v in metadata.values())
    assert read_record(metadata) == domains


def test_a_record_that_cannot_fit_is_refused() -> None:
    others = {f"key{i}": "x" for i in range(METADATA_MAX_KEYS - 1)}
    with pytest.raises(AliasRecordFull):
        write_record(others, {f"customer-{i:04d}.example" for i in range(60)})


#: A small pool, so that the three lists overlap often (the interesting cases).
_domains = st.lists(st.sampled_from([f"d{i}.example" for i in range(8)]), max_size=10)


@given(current=_domains, ours=_domains, verified=_domains)
def test_the_plan_only_ever_removes_what_gatehouse_added(
    current: list[str], ours: list[str], verified: list[str]
) -> None:
    plan = plan_aliases(current, ours, verified)
    assert set(plan.to_remove) <= set(ours)
    assert set(verified) <= set(plan.aliases)
    assert {a for a in current if a not in ours} <= set(plan.aliases)
    assert plan.added_by_gatehouse <= set(verified)
    # A second run with the new state changes nothing.
    again = plan_aliases(plan.aliases, plan.added_by_gatehouse, verified)
    assert not again.changes


@given(st.dictionaries(st.text(max_size=30), st.none() | st.text(max_size=300), max_size=12))
def test_reading_any_metadata_never_fails(metadata: dict[str, str | None]) -> None:
    record = read_record(metadata)
    assert all(d and "," not in d for d in record)
