"""The broker's HTTP endpoints: each reads, calls the core once, and answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from broker.errors import UserFacingError
from broker.http import Page
from broker.limiter import Refused
from broker.login.service import LoginService
from broker.management.access import AccessTokens
from broker.metrics import recording as metrics
from broker.model.client_address import TrustedProxies
from broker.oidc.provider import Provider
from broker.readiness import Readiness
from broker.token_endpoint import TokenEndpoint
from broker.tracing import step_span
from broker.web.adapt import render, to_http_request, to_response
from broker.web.limits import (
    Core,
    Guard,
    RouteLimits,
    too_many_for_a_machine,
    too_many_for_a_person,
)
from broker.workers import LoginPool, run_in_threadpool

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
#: Endpoints a program calls, which answer JSON errors, never a page.
_JSON_ENDPOINTS = frozenset(("/token", "/userinfo"))
#: A probe's answer is about this moment: no cache in between may keep it.
_NO_STORE = {"Cache-Control": "no-store"}


class Endpoints:
    def __init__(
        self,
        *,
        issuer: str,
        proxies: TrustedProxies,
        limits: RouteLimits,
        provider: Provider,
        access_tokens: AccessTokens,
        login: LoginService,
        templates: Jinja2Templates,
        login_pool: LoginPool,
        readiness: Readiness,
    ) -> None:
        self.issuer = issuer
        self.proxies = proxies
        self.limits = limits
        self.provider = provider
        self.token_endpoint = TokenEndpoint(
            authorization_code=provider.token, client_credentials=access_tokens.issue
        )
        self.login = login
        self.templates = templates
        self.login_pool = login_pool
        self.readiness = readiness

    def _call(
        self,
        core: Core,
        *,
        limit: Guard | None = None,
        machine: bool = False,
        waits_on_idp: bool = False,
        step: metrics.Step | None = None,
    ) -> Endpoint:
        """`limit` runs the core call under the route's rate limits; a refusal is a page
        for a person, or OAuth JSON for a `machine` route. `waits_on_idp`: the route may
        wait on a customer's IdP (a hand-off fetches discovery, a callback redeems a code),
        so its work runs in the login pool and can never hold the threads of the token
        endpoint, discovery or the API (`broker.workers`). `step`: the login step whose
        latency the route measures, refusal pages included; a request the rate limit
        refused is counted there instead, and would only hide slow answers among instant
        ones. The step is also a trace span (`broker.tracing`), the rate limit's refusals
        included: a trace shows every request."""

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            req = await to_http_request(request, issuer=self.issuer, proxies=self.proxies)
            run = self.login_pool.run if waits_on_idp else run_in_threadpool
            refused: Refused | None = None
            try:
                with step_span(step):
                    result = await (run(core, req) if limit is None else run(limit, core, req))
                if not isinstance(result, Refused):
                    return to_response(result, request, self.templates)
                refused = result
            finally:
                if step is not None and refused is None:
                    metrics.login_step(step, time.perf_counter() - started)
            if machine:
                return too_many_for_a_machine(refused)
            return too_many_for_a_person(request, self.templates, refused)

        return endpoint

    @property
    def discovery(self) -> Endpoint:
        return self._call(lambda _: self.provider.discovery())

    @property
    def jwks(self) -> Endpoint:
        return self._call(lambda _: self.provider.jwks())

    @property
    def authorize(self) -> Endpoint:
        return self._call(
            self.login.authorize, limit=self.limits.authorize, waits_on_idp=True, step="authorize"
        )

    @property
    def token(self) -> Endpoint:
        """One token endpoint, two grants (`broker.token_endpoint`)."""
        return self._call(self.token_endpoint, limit=self.limits.token, machine=True, step="token")

    @property
    def userinfo(self) -> Endpoint:
        return self._call(self.provider.userinfo)

    @property
    def submit_email(self) -> Endpoint:
        return self._call(
            self.login.submit_email, limit=self.limits.login, waits_on_idp=True, step="login"
        )

    @property
    def choose(self) -> Endpoint:
        return self._call(
            self.login.choose, limit=self.limits.login, waits_on_idp=True, step="login"
        )

    async def callback(self, request: Request) -> Response:
        """The IdP's answer: SAML ACS POST or OIDC redirect, for the connection in the path."""
        connection_id = str(request.path_params["connection_id"])
        endpoint = self._call(
            lambda req: self.login.callback(connection_id, req),
            limit=self.limits.callback,
            waits_on_idp=True,
            step="callback",
        )
        return await endpoint(request)

    async def connection_metadata(self, request: Request) -> Response:
        connection_id = str(request.path_params["connection_id"])
        result = await run_in_threadpool(self.login.metadata, connection_id)
        return to_response(result, request, self.templates)

    async def home(self, request: Request) -> Response:
        return render(
            request, self.templates, Page(template="home.html", context={"issuer": self.issuer})
        )

    async def health(self, request: Request) -> Response:
        """Liveness: the process answers. No I/O, so a slow database never gets a healthy
        instance restarted (that is what readiness is for)."""
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    async def ready(self, request: Request) -> Response:
        """Readiness (`broker.readiness`): 200 when every check passes, else 503 naming
        the failing ones. Not rate-limited: its cost is bounded where it is computed."""
        outcome = await run_in_threadpool(self.readiness.outcome)
        body = {"status": "ready" if outcome.ready else "not ready", "checks": outcome.checks}
        return JSONResponse(body, status_code=200 if outcome.ready else 503, headers=_NO_STORE)

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
            context={"title": exc.title, "hint": exc.hint, "return_to": exc.return_to},
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
        """Starlette calls this outside every middleware: the page gets the security
        headers and the request's reference from the state the middleware left."""
        log.exception("unhandled error", exc_info=exc)
        if request.url.path.startswith("/api/"):
            response = api_problem(request, 500)
        else:
            page = Page(
                template="error.html",
                context={
                    "title": "Something went wrong on our side",
                    "hint": "Try again in a moment. If it keeps happening, give the "
                    "application's support team the reference below.",
                },
                status=500,
            )
            response = render(request, self.templates, page)
        secure = getattr(request.state, "secure_headers", None)
        if secure is not None:
            secure(response.headers)
        return response


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
