"""`gatehouse auth0 connect|sync` against a hostile Auth0: a connection whose options and
metadata are any JSON (someone's dashboard edits, an API that changed shape). Each command
either works or is refused with a message (`Auth0Refused`, `AliasRecordFull`); no other
exception, so the operator sees one line, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, strategies as st

from broker.auth0.aliases import RECORD_KEY, AliasRecordFull
from broker.auth0.api import Auth0Refused, M2MApplication, ManagementApi
from broker.auth0.options import OPTION_NAMES
from broker.auth0.setup import ConnectRequest, apply_sync, connect, plan_sync
from broker.store.sql import SqlStore
from tests.fuzz import hostile
from tests.fuzz.conftest import fuzz
from tests.support.auth0_standin import DOMAIN, Auth0Standin, acme_store, auth0_standin
from tests.support.databases import Database

NOW = datetime(2026, 12, 1, tzinfo=UTC)

#: What JSON in UTF-8 can carry: hostile text but for lone surrogates.
json_text = hostile.text().filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t))
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(json_text, inner, max_size=4),
    max_leaves=12,
)
#: Mostly the fields Gatehouse reads, with any value; sometimes anything at all.
options = st.dictionaries(
    st.sampled_from([*OPTION_NAMES, "client_secret"]) | json_text, json_value, max_size=8
)
metadata = st.dictionaries(
    st.sampled_from([RECORD_KEY, f"{RECORD_KEY}_2", "team"]) | json_text,
    st.none() | json_text | json_value,
    max_size=12,
)


@pytest.fixture
def standin() -> Iterator[Auth0Standin]:
    with auth0_standin() as running:
        yield running


@pytest.fixture
def store(sqlite_database: Database) -> SqlStore:
    return acme_store(sqlite_database, now=NOW)


@fuzz(max_examples=40)
@given(options=options, metadata=metadata)
def test_connect_and_sync_work_or_refuse(
    standin: Auth0Standin, store: SqlStore, options: dict[str, Any], metadata: dict[str, Any]
) -> None:
    standin.connections.clear()
    standin.add_connection("gatehouse", "oidc", options=options, metadata=metadata)
    app = M2MApplication(DOMAIN, standin.m2m_client_id, standin.m2m_client_secret, standin.url)
    api = ManagementApi(app, retries=0)
    request = ConnectRequest(
        connection_name="gatehouse",
        issuer="https://sso.gatehouse.test",
        callback_urls=(f"https://{DOMAIN}/login/callback",),
        applications=("app_web",),
    )
    try:
        with suppress(Auth0Refused, AliasRecordFull):
            apply_sync(api, plan_sync(api, store, "gatehouse"))
        with suppress(Auth0Refused, AliasRecordFull):
            connect(api, store, request, now=NOW)
    finally:
        api.close()
