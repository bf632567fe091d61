"""What the records themselves decide: a public client is one without a secret (it must
then use PKCE), a domain routes only once verified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker.model.records import Domain, DownstreamClient

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("secret_hash", "public"), [(None, True), ("h" * 64, False), ("", False)])
def test_a_client_without_a_secret_is_public(secret_hash: str | None, public: bool) -> None:
    client = DownstreamClient(
        client_id="c", name="C", secret_hash=secret_hash, redirect_uris=(), created_at=NOW
    )
    assert client.is_public is public


@pytest.mark.parametrize(("verified_at", "verified"), [(None, False), (NOW, True)])
def test_a_domain_is_verified_once_it_has_a_verification_time(
    verified_at: datetime | None, verified: bool
) -> None:
    domain = Domain(organization_id="o", name="acme.test", verified_at=verified_at)
    assert domain.is_verified is verified
