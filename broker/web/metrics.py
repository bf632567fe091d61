"""`/metrics` on the main listener, for Prometheus, with the operator's bearer token.

Registered only when `GATEHOUSE_METRICS_TOKEN` is set (otherwise `/metrics` is 404 like any
unknown path): the metrics name connections and say how logins fail, which is nobody's
business but the operator's. The token is compared in constant time (as SHA-256 digests, so
neither its content nor its length shows in the timing). The route is not rate-limited and
not a login step: a scrape every few seconds costs one read of the counters, and must keep
working when logins are being refused.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from broker.metrics.exposition import Exposition
from broker.workers import run_in_threadpool

_NO_STORE = {"Cache-Control": "no-store"}


class MetricsEndpoint:
    def __init__(self, *, token: str, exposition: Exposition) -> None:
        self._digest = _digest(token)
        self._exposition = exposition

    async def scrape(self, request: Request) -> Response:
        if not self._authorized(request.headers.get("authorization", "")):
            return Response(
                "a bearer token is required\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"', **_NO_STORE},
            )
        # Several workers' metrics are read from files: not on the event loop.
        accept = request.headers.get("accept", "")
        body, content_type = await run_in_threadpool(self._exposition.render, accept)
        return Response(body, headers={"Content-Type": content_type, **_NO_STORE})

    def _authorized(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        presented = _digest(credentials.strip())
        return hmac.compare_digest(presented, self._digest) and scheme.lower() == "bearer"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()
