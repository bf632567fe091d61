"""The portal's small rules in `broker/model`: when a portal link may still be used, and
which settings a connection test tested (`config_digest`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker.model.management import PortalLink
from broker.model.portal import config_digest

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LINK = PortalLink(
    id="pl_1", organization_id="org", token_hash="h" * 64, profile_id=None, connection_id=None,
    enabled_features=("sso",), max_uses=3, uses=0, expires_at=NOW + timedelta(hours=1),
    created_at=NOW, created_by="cli",
)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "usable"),
    [
        ({}, True),
        ({"uses": 2}, True),
        ({"uses": 3}, False),
        ({"uses": 4}, False),
        ({"expires_at": NOW + timedelta(microseconds=1)}, True),
        ({"expires_at": NOW}, False),
        ({"expires_at": NOW - timedelta(seconds=1)}, False),
        ({"revoked_at": NOW}, False),
        ({"revoked_at": NOW + timedelta(hours=1)}, False),  # revoked is revoked, whenever
        ({"max_uses": 0}, False),
    ],
)
def test_a_link_is_usable_until_used_up_expired_or_revoked(
    changes: dict[str, Any], usable: bool
) -> None:
    assert replace(LINK, **changes).usable(NOW) is usable


CONFIG = {"idp_entity_id": "https://idp.test", "attributes": {"email": "mail", "name": "cn"}}


@pytest.mark.parametrize(
    "same",
    [
        {"attributes": {"name": "cn", "email": "mail"}, "idp_entity_id": "https://idp.test"},
        dict(reversed(list(CONFIG.items()))),
    ],
)
def test_the_digest_does_not_depend_on_key_order(same: dict[str, object]) -> None:
    assert config_digest(same) == config_digest(CONFIG)


@pytest.mark.parametrize(
    "other",
    [
        {**CONFIG, "idp_entity_id": "https://idp.test/"},
        {**CONFIG, "attributes": {"email": "mail"}},
        {**CONFIG, "attributes": {"email": "mail", "name": "cn", "groups": "memberOf"}},
        {**CONFIG, "extra": None},
        {"idp_entity_id": "https://idp.test"},
        {},
    ],
)
def test_any_change_of_a_setting_changes_the_digest(other: dict[str, object]) -> None:
    assert config_digest(other) != config_digest(CONFIG)


def test_the_digest_is_sha256_hex_of_canonical_json() -> None:
    assert config_digest({}) == (
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"  # sha256(b"{}")
    )
    assert len(config_digest(CONFIG)) == 64
