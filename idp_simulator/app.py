"""The simulator's web layer: thin Starlette routes over `SimulatedIdp`.

Routes read the request, call the core once, and render a page. The pending AuthnRequest is
kept server side (`PendingRequests`); the login form only carries its key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idp_simulator.authn_request import AuthnRequestError, AuthnRequestInfo, Binding
from idp_simulator.config import SimulatorConfig
from idp_simulator.idp import PostBack, SimulatedIdp
from idp_simulator.keys import IdpKeys, generate, load_or_create
from idp_simulator.login_form import DEFAULT_FORM, LoginFormError, parse_login_form
from idp_simulator.pending import PendingRequests
from idp_simulator.scenarios import DESCRIPTIONS

__all__ = ["METADATA_MEDIA_TYPE", "SECURITY_HEADERS", "create_app"]

METADATA_MEDIA_TYPE = "application/samlmetadata+xml"
MAX_FORM_FIELDS = 32
MAX_FIELD_BYTES = 256 * 1024
_HERE = Path(__file__).parent

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


def create_app(
    config: SimulatorConfig | None = None,
    *,
    keys: IdpKeys | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The simulator as an ASGI app. Defaults: config from the environment, keys from
    `config.key_dir` (created there once) or fresh in memory, the system clock in UTC."""
    config = config if config is not None else SimulatorConfig.from_env()
    if keys is None:
        keys = load_or_create(config.key_dir) if config.key_dir is not None else generate()
    idp = SimulatedIdp(config, keys, clock if clock is not None else _utc_now)
    pending = PendingRequests()
    templates = Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    )
    scenarios = [(scenario.value, text) for scenario, text in DESCRIPTIONS.items()]

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        context = {"scenarios": scenarios, **context}
        return templates.TemplateResponse(request, name, context, status_code=status)

    def error(request: Request, title: str, message: str, status: int = 400) -> Response:
        return page(request, "error.html", {"title": title, "message": message}, status)

    def login_page(
        request: Request,
        key: str,
        info: AuthnRequestInfo,
        form: dict[str, str],
        problem: str | None = None,
    ) -> Response:
        context = {"pending": key, "request_info": info, "form": form, "error": problem}
        return page(request, "login.html", context, 200 if problem is None else 400)

    def autopost(request: Request, postback: PostBack, label: str) -> Response:
        return page(request, "autopost.html", {"postback": postback, "label": label})

    def home(request: Request) -> Response:
        context = {
            "metadata_url": config.entity_id,
            "sso_url": config.sso_url,
            "allowed_acs": config.allowed_acs_prefixes,
        }
        return page(request, "home.html", context)

    def metadata(_request: Request) -> Response:
        return Response(idp.metadata_xml(), media_type=METADATA_MEDIA_TYPE)

    def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def sso(request: Request) -> Response:
        binding: Binding = "redirect" if request.method == "GET" else "post"
        if binding == "redirect":
            items = request.query_params.multi_items()
        else:
            items = await _form_items(request)
        try:
            info = idp.parse_request(binding, _single_valued(items))
        except AuthnRequestError as exc:
            return error(request, "This login request cannot be answered", str(exc))
        return login_page(request, pending.put(info), info, dict(DEFAULT_FORM))

    async def login(request: Request) -> Response:
        try:
            fields = _single_valued(await _form_items(request))
        except AuthnRequestError as exc:
            return error(request, "The login form is not usable", str(exc))
        key = fields.get("pending", "")
        try:
            choice = parse_login_form(fields)
        except LoginFormError as exc:
            info = pending.peek(key)
            if info is None:
                return _no_pending(request)
            return login_page(request, key, info, {**DEFAULT_FORM, **fields}, str(exc))
        info = pending.pop(key)
        if info is None:
            return _no_pending(request)
        postback = await run_in_threadpool(
            idp.respond, info, choice.user, choice.scenario, sign=choice.sign
        )
        return autopost(request, postback, choice.scenario.value)

    def replay(request: Request) -> Response:
        postback = idp.last_postback()
        if postback is None:
            return error(request, "Nothing to replay", "No response has been posted yet.", 404)
        return autopost(request, postback, "replay of the last response")

    def _no_pending(request: Request) -> Response:
        return error(
            request,
            "This login request expired",
            "The simulator no longer holds this AuthnRequest (it was used, or is more than "
            "10 minutes old, or the simulator restarted).",
        )

    def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return error(request, f"Error {status}", str(detail), status)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"], name="home"),
            Route("/metadata", metadata, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/sso", sso, methods=["GET", "POST"]),
            Route("/sso/login", login, methods=["POST"], name="login"),
            Route("/replay", replay, methods=["GET"], name="replay"),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )


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


async def _form_items(request: Request) -> list[tuple[str, Any]]:
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    return list(form.multi_items())


def _single_valued(items: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Each parameter once and as text: a repeated SAMLRequest or pending key is refused
    rather than resolved by a first-or-last guess."""
    values: dict[str, str] = {}
    for name, value in items:
        if not isinstance(value, str):
            raise AuthnRequestError(f"the {name} field must be text")
        if name in values:
            raise AuthnRequestError(f"the {name} parameter appears more than once")
        values[name] = value
    return values


def _utc_now() -> datetime:
    return datetime.now(UTC)
