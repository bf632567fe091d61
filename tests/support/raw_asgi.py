"""Requests an HTTP client library would not send, straight to the ASGI app.

httpx (and so Starlette's TestClient) writes its own `Content-Length`, refuses some header
values and normalises the path; an attacker's client does none of that. `RawClient` hands
the app exactly the scope, headers and body bytes it is given, the way a permissive server
would, and reports an exception the app let escape (a 500) instead of raising it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp, Message

Headers = Sequence[tuple[bytes, bytes]]


@dataclass(frozen=True)
class RawAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    #: What escaped the app, if anything (Starlette re-raises after answering 500).
    escaped: BaseException | None = None

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RawClient:
    def __init__(self, app: ASGIApp, portal: BlockingPortal, *, host: str) -> None:
        self.app = app
        self.portal = portal
        self.host = host

    def request(
        self,
        method: str,
        path: bytes | str,
        *,
        query: bytes = b"",
        headers: Headers = (),
        body: bytes = b"",
    ) -> RawAnswer:
        raw_path = path.encode("utf-8") if isinstance(path, str) else path
        answer: RawAnswer = self.portal.call(
            self._call, method, raw_path, query, list(headers), body
        )
        return answer

    async def _call(
        self, method: str, raw_path: bytes, query: bytes, headers: Headers, body: bytes
    ) -> RawAnswer:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "https",
            # As uvicorn does: the percent-decoded path, read as UTF-8 with replacement.
            "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", self.host.encode()), *headers],
            "client": ("203.0.113.7", 50000),
            "server": (self.host, 443),
        }
        sent = False
        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.extend(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        escaped: BaseException | None = None
        try:
            await self.app(scope, receive, send)
        except Exception as exc:  # the app's own 500 was sent first, or nothing was
            escaped = exc
            status = status or 500
        return RawAnswer(status, response_headers, b"".join(chunks), escaped)


@contextmanager
def raw_client(app: ASGIApp, *, host: str = "gatehouse.test") -> Iterator[RawClient]:
    with start_blocking_portal() as portal:
        yield RawClient(app, portal, host=host)
