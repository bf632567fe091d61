"""IdPs behind the broker's outbound client, in process: documents served at chosen URLs
(IdP metadata), and a programmable OpenID Provider (a MockOp) at its issuer's host, behind
one httpx transport. Requests still pass the outbound policy first (it checks each URL
before the transport is reached), so an SSRF attempt is refused exactly as it would be in
production."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tests.support.mock_op import MockOp


@dataclass
class IdpHosts:
    op: MockOp | None = None
    #: What is served, by URL.
    documents: dict[str, bytes] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    #: Runs before each answer: what happens elsewhere while Gatehouse waits for the IdP.
    meanwhile: Callable[[httpx.Request], None] | None = None

    def client(self) -> httpx.Client:
        """The broker's outbound client; any other URL is a 404."""
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.meanwhile is not None:
            self.meanwhile(request)
        document = self.documents.get(str(request.url))
        if document is not None:
            return httpx.Response(200, content=document)
        if self.op is not None and request.url.host == urlsplit(self.op.issuer).hostname:
            return self.op.handle(request)
        return httpx.Response(404)
