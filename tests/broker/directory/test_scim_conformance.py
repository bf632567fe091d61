"""scim2-tester's conformance checks against our SCIM service served on loopback: every
check it runs must end SUCCESS, COMPLIANT or ACCEPTABLE (or SKIPPED, for what the
ServiceProviderConfig says is unsupported: bulk, sort, password change).

scim2-client ships its network engine on `httpx2`, which Gatehouse does not install; the
`HttpxScimClient` below is that engine's three methods on httpx, which we do install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from scim2_client.client import BaseSyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.support.config import OUT_OF_REACH
from tests.support.live_server import free_port, serve
from tests.support.scim import scim_world

_PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


class HttpxScimClient(BaseSyncSCIMClient):
    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        url = self.client.build_request("GET", endpoint).url
        return (
            url.host == base.host
            and url.port == base.port
            and url.raw_path.startswith(base.raw_path)
        )

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


def test_scim2_tester_finds_no_failure(sqlite_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from broker.store.sql import SqlStore

    world = scim_world(SqlStore(sqlite_database.engine), tmp_path, rate_limits=OUT_OF_REACH)
    with serve(world.gatehouse.app, free_port()) as url:
        base = f"{url}/scim/v2/{world.directory_id}/"
        headers = {"Authorization": f"Bearer {world.issued.token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            client = HttpxScimClient(http)
            results = check_server(client, raise_exceptions=False)
    failures = [r for r in results if r.status not in _PASSING]
    assert results
    assert not failures, "\n".join(f"{r.status.name} {r.title}: {r.reason}" for r in failures)
