"""The size of what a portal form may send (docs/security.md T-11: upload abuse).

Starlette's form parser caps a text field (`max_part_size`) but not a file: an upload
streams into a temporary file, then to disk, however large. So the body itself is capped,
twice: its declared `Content-Length` is checked before it is read (`check_declared`, the
clear page for an honest mistake, a wrong file chosen), and the bytes are counted as they
arrive (`BodyCap`), which also stops a body that declared nothing, or declared a small
length beside `Transfer-Encoding: chunked`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.model.numerals import InvalidNumeral, parse_decimal

#: An IdP metadata document (at most 1 MiB once read) or a certificate, with room to spare.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: A Content-Length above this is not a length any client means (and not one to compare).
MAX_DECLARED_LENGTH = 2**63 - 1


class BodyTooLarge(MultiPartException):
    """A MultiPartException, so Starlette's form parser closes the files it opened and
    raises it as its own 400, which `Portal.form` turns into a page."""

    def __init__(self) -> None:
        super().__init__(f"the request body is larger than {MAX_BODY_BYTES} bytes")

    def __str__(self) -> str:  # MultiPartException keeps its text in `message` only
        return self.message


def check_declared(headers: Mapping[str, str]) -> None:
    """BodyTooLarge past the cap; a 400 HTTPException for a length that is not one
    (RFC 9110 §8.6: `1*DIGIT`; `²` passes `isdigit()` and fails `int()`)."""
    declared = headers.get("content-length")
    if declared is None:
        return
    try:
        length = parse_decimal(declared, maximum=MAX_DECLARED_LENGTH)
    except InvalidNumeral as exc:
        raise HTTPException(400, f"Content-Length is not a length: {exc}") from exc
    if length > MAX_BODY_BYTES:
        raise BodyTooLarge


class BodyCap:
    """ASGI middleware: a request body past `MAX_BODY_BYTES` raises `BodyTooLarge` from
    `receive`, to whoever is reading it, before the next chunk is kept anywhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise BodyTooLarge
            return message

        await self.app(scope, counted, send)
