"""Which connector serves a connection, and the cache of opened ones
(broker/upstream/registry.py), with the SAML connector and the tests' own kind; and the
URLs each connection publishes (broker/upstream/urls.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import httpx
import pytest
from lxml import etree

from broker.clock import FixedClock
from broker.errors import ConfigError
from broker.http import HttpResponse
from broker.keys import SecretBox
from broker.model.records import Connection
from broker.upstream.base import ConnectorDeps
from broker.upstream.registry import ConnectorCache, ConnectorTypes, open_connection
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.setup import new_sp_key_pair
from broker.upstream.urls import ConnectionEndpoints, endpoints_for
from idp_simulator.keys import generate
from tests.support.config import TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config
from tests.support.fake_connector import FakeConnector, FakeConnectorConfig
from tests.support.saml_golden import MemoryReplays, golden_metadata

ISSUER = "https://gatehouse.test"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOX = SecretBox(TEST_SECRET_KEY)
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


class CountedConfig(FakeConnectorConfig):
    """The tests' connector kind, counting how often a connection is opened."""

    kind: ClassVar[str] = "test"
    opened: ClassVar[list[str]] = []

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        parsed = super().parse(raw)
        cls.opened.append(parsed.idp_url)
        return parsed


TYPES: ConnectorTypes = {"test": CountedConfig, "saml": SamlConnectionConfig}


def deps() -> ConnectorDeps:
    return ConnectorDeps(
        http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(599))),
        clock=FixedClock(NOW), secrets=BOX, replays=MemoryReplays(),
    )  # fmt: skip


@pytest.fixture
def cache() -> ConnectorCache:
    CountedConfig.opened.clear()
    return ConnectorCache(TYPES, deps(), issuer=ISSUER)


def connection(cid: str = "con_a", kind: str = "test", **changes: Any) -> Connection:
    base = Connection(
        id=cid, organization_id="org", kind=kind, name=cid, config={"idp_url": "https://idp.test"},
        created_at=NOW,
    )  # fmt: skip
    return replace(base, **changes)


def test_a_connection_is_opened_once_per_version(cache: ConnectorCache) -> None:
    first = cache.get(connection())
    assert cache.get(connection()) is first
    assert CountedConfig.opened == ["https://idp.test"]
    edited = connection(version=2, config={"idp_url": "https://idp2.test"})
    second = cache.get(edited)
    assert second is not first
    assert isinstance(second, FakeConnector)
    assert second.config.idp_url == "https://idp2.test"
    assert cache.get(edited) is second
    assert cache.get(connection("con_b")) not in (first, second)
    assert CountedConfig.opened == ["https://idp.test", "https://idp2.test", "https://idp.test"]


def test_a_draft_under_test_is_opened_for_each_use_and_never_cached(
    cache: ConnectorCache,
) -> None:
    live = cache.get(connection())
    draft = {"idp_url": "https://new-idp.test"}
    testing = connection(config=draft, draft=draft)
    one, two = cache.get_settings(testing), cache.get_settings(testing)
    assert isinstance(one, FakeConnector)
    assert one.config.idp_url == "https://new-idp.test"
    assert two is not one
    assert cache.get(connection()) is live  # logins keep the cached live settings


def test_the_live_settings_of_a_connection_with_a_draft_come_from_the_cache(
    cache: ConnectorCache,
) -> None:
    live = cache.get(connection())
    with_draft = connection(draft={"idp_url": "https://new-idp.test"})
    assert cache.get_settings(with_draft) is live


def test_a_kind_without_a_connector_is_a_config_error(cache: ConnectorCache) -> None:
    with pytest.raises(ConfigError) as caught:
        cache.get(connection(kind="ldap"))
    assert (caught.value.field, caught.value.message) == ("kind", "no connector for kind 'ldap'")
    with pytest.raises(ConfigError):
        open_connection(TYPES, connection(kind="ldap"), deps(), issuer=ISSUER)


def test_settings_that_do_not_parse_are_a_config_error(cache: ConnectorCache) -> None:
    with pytest.raises(ConfigError) as caught:
        cache.get(connection(config={"idp_url": "http://idp.test"}))
    assert caught.value.field == "idp_url"


# -- what a connection publishes ------------------------------------------------------------


def saml_connection(config: Mapping[str, object]) -> Connection:
    return connection("con_s", kind="saml", config=config)


def entity_id_of(document: HttpResponse) -> str:
    root = etree.fromstring(document.body)
    assert root.tag == f"{MD}EntityDescriptor"
    return str(root.get("entityID"))


@pytest.fixture(scope="module")
def saml_config() -> dict[str, object]:
    idp = parse_idp_metadata(golden_metadata(generate()))
    endpoints = endpoints_for(ISSUER, "con_s", "saml")
    return new_saml_config(idp, box=BOX, endpoints=endpoints, now=NOW)


def test_a_finished_saml_connection_publishes_its_sp_metadata(
    cache: ConnectorCache, saml_config: dict[str, object]
) -> None:
    document = cache.describe(saml_connection(saml_config))
    assert isinstance(document, HttpResponse)
    assert entity_id_of(document) == f"{ISSUER}/saml/con_s/metadata"


def test_an_unfinished_saml_connection_publishes_its_sp_metadata_already() -> None:
    """The IdP admin imports the SP metadata before there is anything to give back."""
    cache = ConnectorCache(TYPES, deps(), issuer=ISSUER)
    keys_only = {
        purpose: new_sp_key_pair(BOX, "con_s", purpose.removeprefix("sp_"),
                                 common_name="Gatehouse SP", now=NOW)
        for purpose in ("sp_signing", "sp_encryption")
    }  # fmt: skip
    document = cache.describe(saml_connection(keys_only))
    assert isinstance(document, HttpResponse)
    assert document.headers["content-type"] == "application/samlmetadata+xml"
    assert entity_id_of(document) == f"{ISSUER}/saml/con_s/metadata"
    # Settings that cannot even make SP metadata publish nothing.
    assert cache.describe(saml_connection({"sp_signing": keys_only["sp_signing"]})) is None
    bad_format = {**keys_only, "name_id_format": 5}
    assert cache.describe(saml_connection(bad_format)) is None


def test_a_connection_of_an_unknown_kind_publishes_nothing(cache: ConnectorCache) -> None:
    assert cache.describe(connection(kind="ldap")) is None


def test_a_connection_with_nothing_to_publish(cache: ConnectorCache) -> None:
    assert cache.describe(connection()) is None  # opened: its connector publishes nothing
    unfinished = connection(config={})
    assert cache.describe(unfinished) is None  # unparsed: nor does its kind


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("saml", ConnectionEndpoints(
            connection_id="con_1", callback_url=f"{ISSUER}/saml/con_1/acs",
            entity_id=f"{ISSUER}/saml/con_1/metadata",
            metadata_url=f"{ISSUER}/saml/con_1/metadata")),
        ("oidc", ConnectionEndpoints(
            connection_id="con_1", callback_url=f"{ISSUER}/oidc/con_1/callback", entity_id="",
            metadata_url=f"{ISSUER}/oidc/con_1/jwks.json")),
        ("test", ConnectionEndpoints(
            connection_id="con_1", callback_url=f"{ISSUER}/callback/con_1",
            entity_id=f"{ISSUER}/connections/con_1", metadata_url="")),
    ],
)  # fmt: skip
def test_each_connection_has_its_own_urls(kind: str, expected: ConnectionEndpoints) -> None:
    assert endpoints_for(ISSUER, "con_1", kind) == expected
    assert endpoints_for(ISSUER, "con_2", kind) != expected


def test_a_connector_with_nothing_to_read_ahead_is_left_alone(cache: ConnectorCache) -> None:
    """SAML reads its IdP's metadata in a scheduled job, not at login: the instance's
    refresh-ahead task has nothing to do for it (or for the tests' kind)."""
    cache.get(connection())
    cache.get(connection("con_b"))
    assert cache.refresh_ahead() == "refreshed=0 failed=0 dropped=0"
