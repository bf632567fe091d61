"""The broker's HTTP endpoints: each reads, calls the core once, and answers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from broker.errors import UserFacingError
from broker.http import HttpRequest, Page, Result
from broker.login.service import LoginService
from broker.management.access import AccessTokens
from broker.oidc.provider import Provider
from broker.web.adapt import render, to_http_request, to_response

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
#: Endpoints a program calls, which answer JSON errors, never a page.
_JSON_ENDPOINTS = frozenset(("/token", "/userinfo"))


class Endpoints:
    def __init__(
        self,
        *,
        issuer: str,
        provider: Provider,
        access_tokens: AccessTokens,
        login: LoginService,
        templates: Jinja2Templates,
    ) -> None:
        self.issuer = issuer
        self.provider = provider
        self.access_tokens = access_tokens
        self.login = login
        self.templates = templates

    def _call(self, core: Callable[[HttpRequest], Result]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            req = await to_http_request(request, issuer=self.issuer)
            result = await run_in_threadpool(core, req)
            return to_response(result, request, self.templates)

        return endpoint

    @property
    def discovery(self) -> Endpoint:
        return self._call(lambda _: self.provider.discovery())

    @property
    def jwks(self) -> Endpoint:
        return self._call(lambda _: self.provider.jwks())

    @property
    def authorize(self) -> Endpoint:
        return self._call(self.login.authorize)

    @property
    def token(self) -> Endpoint:
        """One token endpoint, two grants: codes for relying parties (the OP), client
        credentials for management clients (their own registry and tokens)."""

        def token(request: HttpRequest) -> Result:
            if request.form.get("grant_type") == ["client_credentials"]:
                return self.access_tokens.issue(request)
            return self.provider.token(request)

        return self._call(token)

    @property
    def userinfo(self) -> Endpoint:
        return self._call(self.provider.userinfo)

    @property
    def submit_email(self) -> Endpoint:
        return self._call(self.login.submit_email)

    @property
    def choose(self) -> Endpoint:
        return self._call(self.login.choose)

    async def callback(self, request: Request) -> Response:
        """The IdP's answer: SAML ACS POST or OIDC redirect, for the connection in the path."""
        connection_id = str(request.path_params["connection_id"])
        req = await to_http_request(request, issuer=self.issuer)
        result = await run_in_threadpool(self.login.callback, connection_id, req)
        return to_response(result, request, self.templates)

    async def connection_metadata(self, request: Request) -> Response:
        connection_id = str(request.path_params["connection_id"])
        result = await run_in_threadpool(self.login.metadata, connection_id)
        return to_response(result, request, self.templates)

    async def home(self, request: Request) -> Response:
        return render(
            request, self.templates, Page(template="home.html", context={"issuer": self.issuer})
        )

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    # -- error pages ------------------------------------------------------------------

    async def user_facing_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UserFacingError)
        log.warning("user-facing error status=%s detail=%s", exc.status, exc.detail or exc.title)
        # A request no page answers (an unreadable body): each channel's own error shape.
        if request.url.path.startswith("/api/"):
            return api_problem(request, exc.status, detail=exc.title)
        if request.url.path in _JSON_ENDPOINTS:
            return oauth_error(exc.status, exc.title)
        page = Page(
            template="error.html",
            context={"title": exc.title, "hint": exc.hint},
            status=exc.status,
        )
        return render(request, self.templates, page)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return api_problem(request, exc.status_code)
        titles = {404: "Page not found", 405: "Method not allowed"}
        page = Page(
            template="error.html",
            context={
                "title": titles.get(exc.status_code, "Request failed"),
                "hint": "Check the address, or go back to the application and start again.",
            },
            status=exc.status_code,
        )
        return render(request, self.templates, page)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if request.url.path.startswith("/api/"):
            return api_problem(request, 500)
        page = Page(
            template="error.html",
            context={
                "title": "Something went wrong on our side",
                "hint": "Try again in a moment. If it keeps happening, give the application's "
                "support team the reference below.",
            },
            status=500,
        )
        return render(request, self.templates, page)


def api_problem(request: Request, status: int, *, detail: str | None = None) -> Response:
    """The API answers problems even for what no operation handles (an unknown path, a
    method not allowed, a crash, a body it cannot read): a client parses one error shape."""
    titles = {404: "Not found", 405: "Method not allowed", 500: "Internal error"}
    if detail is None:
        detail = "no such operation" if status in (404, 405) else "try again later"
    body = {
        "type": "about:blank",
        "title": titles.get(status, "Request failed"),
        "status": status,
        "detail": detail,
        "instance": f"urn:gatehouse:request:{getattr(request.state, 'request_id', '')}",
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def oauth_error(status: int, description: str) -> Response:
    """RFC 6749 §5.2's shape, for a request the token or userinfo endpoint cannot read."""
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
