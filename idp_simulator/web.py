"""Web plumbing shared by the simulator's SAML and OIDC routes: pages, headers, parameters.

Both sides render from one template directory, answer under the same security headers, and
refuse a repeated parameter rather than guess which copy was meant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "MAX_FIELD_BYTES",
    "MAX_FORM_FIELDS",
    "SECURITY_HEADERS",
    "Pages",
    "ParameterError",
    "SecurityHeaders",
    "form_items",
    "single_valued",
]

MAX_FORM_FIELDS = 32
MAX_FIELD_BYTES = 256 * 1024

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: that would make the auto-post's Origin header "null" at the ACS, which a
    # real IdP's post never is. Cross-origin, only the origin is sent, never a query string.
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "no-store",
}
"""On every response, static files and errors included. `form-action` is deliberately
absent: the auto-post form targets the SP, and browsers apply form-action to its redirects."""


class ParameterError(ValueError):
    """A query or form parameter that is repeated or not text; shown on a 400 page."""


class Pages:
    """The simulator's Jinja2 templates, with context every page gets (`defaults`)."""

    def __init__(self, directory: Path, defaults: Mapping[str, Any]) -> None:
        self._defaults = dict(defaults)
        self._templates = Jinja2Templates(
            env=jinja2.Environment(
                loader=jinja2.FileSystemLoader(directory),
                autoescape=True,
                undefined=jinja2.StrictUndefined,
            )
        )

    def render(
        self, request: Request, name: str, context: Mapping[str, Any], status: int = 200
    ) -> Response:
        full = {**self._defaults, **context}
        return self._templates.TemplateResponse(request, name, full, status_code=status)

    def error(self, request: Request, title: str, message: str, status: int = 400) -> Response:
        return self.render(request, "error.html", {"title": title, "message": message}, status)


class SecurityHeaders:
    """Pure ASGI middleware adding `SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def form_items(request: Request) -> list[tuple[str, Any]]:
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    return list(form.multi_items())


def single_valued(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Each parameter once and as text: a repeated SAMLRequest, pending key, redirect_uri or
    code is refused rather than resolved by a first-or-last guess."""
    values: dict[str, str] = {}
    for name, value in items:
        if not isinstance(value, str):
            raise ParameterError(f"the {name} field must be text")
        if name in values:
            raise ParameterError(f"the {name} parameter appears more than once")
        values[name] = value
    return values
