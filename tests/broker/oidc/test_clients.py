"""Registering a relying party (broker/oidc/clients.py): what a redirect URI may be, and
what is stored (the secret only as a hash), on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from broker.errors import ConfigError
from broker.model.opaque import secret_matches
from broker.oidc.clients import MIN_SECRET_LENGTH, register_client, validate_redirect_uri
from broker.store import Store

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "uri",
    [
        "https://rp.test/callback",
        "https://rp.test:8443/cb?tenant=a",
        "http://localhost/cb",
        "http://localhost:3000/cb",
        "http://127.0.0.1:9999/cb",
        "http://127.8.9.10/cb",
        "http://[::1]:8080/cb",
    ],
)
def test_https_or_loopback_http_may_be_registered(uri: str) -> None:
    validate_redirect_uri(uri)


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("/callback", "is not an absolute URL"),
        ("rp.test/callback", "is not an absolute URL"),
        ("https:///callback", "is not an absolute URL"),
        ("https://rp.test/cb#frag", "must not contain a fragment"),
        ("https://rp.test/cb#", "must not contain a fragment"),
        ("https://*.rp.test/cb", "wildcards are not allowed"),
        ("https://rp.test/*", "wildcards are not allowed"),
        ("http://rp.test/cb", "must use https"),
        ("http://localhost.evil.test/cb", "must use https"),
        ("http://127.0.0.1.evil.test/cb", "must use https"),
        ("http://10.0.0.1/cb", "must use https"),
        ("ftp://rp.test/cb", "must use https"),
        ("com.example.app://cb", "must use https"),
    ],
)
def test_anything_else_is_refused(uri: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_redirect_uri(uri)
    assert caught.value.field == "redirect_uri"
    assert why in caught.value.message


def test_a_generated_client_stores_only_the_hash_of_its_secret(store: Store) -> None:
    with store.unit_of_work() as uow:
        registered = register_client(
            uow, name="  Auth0  ", now=NOW,
            redirect_uris=["https://rp.test/a", "https://rp.test/b", "https://rp.test/a"],
        )  # fmt: skip
    secret = registered.client_secret
    assert secret is not None
    assert len(secret) >= 43
    client = registered.client
    assert client.client_id.startswith("gh_")
    assert client.name == "Auth0"
    assert client.redirect_uris == ("https://rp.test/a", "https://rp.test/b")
    with store.unit_of_work() as uow:
        stored = uow.clients.get(client.client_id)
    assert stored == client
    assert stored.secret_hash is not None
    assert secret not in stored.secret_hash
    assert secret_matches(secret, stored.secret_hash)
    assert not stored.is_public


def test_fixed_credentials_are_kept(store: Store) -> None:
    with store.unit_of_work() as uow:
        registered = register_client(
            uow, name="Auth0", redirect_uris=["https://rp.test/cb"], now=NOW,
            client_id="auth0-prod", client_secret="x" * MIN_SECRET_LENGTH,
        )  # fmt: skip
    assert registered.client.client_id == "auth0-prod"
    assert registered.client_secret == "x" * MIN_SECRET_LENGTH
    assert registered.client.secret_hash is not None
    assert secret_matches("x" * MIN_SECRET_LENGTH, registered.client.secret_hash)


def test_a_public_client_has_no_secret(store: Store) -> None:
    with store.unit_of_work() as uow:
        registered = register_client(
            uow, name="SPA", redirect_uris=["http://127.0.0.1:9999/cb"], now=NOW, public=True
        )
    assert registered.client_secret is None
    assert registered.client.secret_hash is None
    assert registered.client.is_public


@pytest.mark.parametrize(
    ("arguments", "field", "why"),
    [
        ({"name": " "}, "name", "is required"),
        ({"redirect_uris": []}, "redirect_uri", "at least one is required"),
        ({"redirect_uris": ["https://rp.test/cb", "http://rp.test/cb"]}, "redirect_uri",
         "must use https"),
        ({"client_id": "ab"}, "client_id", "3-128 characters"),
        ({"client_id": "a" * 129}, "client_id", "3-128 characters"),
        ({"client_id": "auth0 prod"}, "client_id", "3-128 characters"),
        ({"client_id": "auth0/prod"}, "client_id", "3-128 characters"),
        ({"client_id": "auth0-prod\n"}, "client_id", "3-128 characters"),
        ({"public": True, "client_secret": "x" * 40}, "client_secret",
         "a public client has no secret"),
        ({"client_secret": "x" * (MIN_SECRET_LENGTH - 1)}, "client_secret",
         f"must be at least {MIN_SECRET_LENGTH} characters"),
    ],
)  # fmt: skip
def test_what_cannot_work_is_refused_and_nothing_is_stored(
    store: Store, arguments: dict[str, Any], field: str, why: str
) -> None:
    values: dict[str, Any] = {"name": "Auth0", "redirect_uris": ["https://rp.test/cb"]}
    values.update(arguments)
    with store.unit_of_work() as uow, pytest.raises(ConfigError) as caught:
        register_client(uow, now=NOW, **values)
    assert caught.value.field == field
    assert why in caught.value.message
    with store.unit_of_work() as uow:
        assert list(uow.clients.list()) == []


@pytest.mark.parametrize("client_id", ["abc", "A.b_c~d-9", "a" * 128])
def test_client_ids_of_the_allowed_characters_are_accepted(store: Store, client_id: str) -> None:
    with store.unit_of_work() as uow:
        registered = register_client(
            uow, name="A", redirect_uris=["https://rp.test/cb"], now=NOW, client_id=client_id
        )
    assert registered.client.client_id == client_id
