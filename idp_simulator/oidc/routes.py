"""The OpenID Provider's routes, mounted under `/oidc`: thin Starlette glue over `SimulatedOp`.

Browser-facing endpoints (authorize, login, replay) answer with pages or 302 redirects; the
back-channel ones (token, userinfo) answer JSON with RFC 6749 §5.2 / RFC 6750 §3 errors.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from idp_simulator.login_form import (
    OIDC_DEFAULT_FORM,
    LoginFormError,
    parse_oidc_login_form,
)
from idp_simulator.oidc.authorize import AuthorizationRequest, AuthorizeError
from idp_simulator.oidc.client_auth import OAuthError
from idp_simulator.oidc.provider import SimulatedOp
from idp_simulator.oidc.scenarios import OIDC_DESCRIPTIONS
from idp_simulator.pending import PendingRequests
from idp_simulator.web import Pages, ParameterError, form_items, single_valued

__all__ = ["OIDC_SCENARIOS", "oidc_routes"]

OIDC_SCENARIOS = [(scenario.value, text) for scenario, text in OIDC_DESCRIPTIONS.items()]
_FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oidc_routes(op: SimulatedOp, pages: Pages) -> list[BaseRoute]:
    """The routes, with their own store of authorization requests awaiting the login form."""
    pending = PendingRequests[AuthorizationRequest]()

    def login_page(
        request: Request,
        key: str,
        authz: AuthorizationRequest,
        form: dict[str, str],
        problem: str | None = None,
    ) -> Response:
        context = {
            "pending": key,
            "authz": authz,
            "form": form,
            "error": problem,
            "form_action": request.url_for("oidc:login"),
            "sign_modes": (),
            "scenarios": OIDC_SCENARIOS,
        }
        return pages.render(request, "oidc_login.html", context, 200 if problem is None else 400)

    def discovery(_request: Request) -> Response:
        return JSONResponse(op.discovery())

    def jwks(_request: Request) -> Response:
        return JSONResponse(op.jwks())

    def authorize(request: Request) -> Response:
        try:
            authz = op.authorize(single_valued(request.query_params.multi_items()))
        except ParameterError as exc:
            return pages.error(request, "This login request cannot be answered", str(exc))
        except AuthorizeError as exc:
            if exc.redirect_uri is None:
                return pages.error(request, "This login request cannot be answered", str(exc))
            return RedirectResponse(op.error_callback(exc), status_code=302)
        form = dict(OIDC_DEFAULT_FORM)
        if authz.login_hint:
            form["email"] = authz.login_hint
        return login_page(request, pending.put(authz), authz, form)

    async def login(request: Request) -> Response:
        try:
            fields = single_valued(await form_items(request))
        except ParameterError as exc:
            return pages.error(request, "The login form is not usable", str(exc))
        key = fields.get("pending", "")
        try:
            choice = parse_oidc_login_form(fields)
        except LoginFormError as exc:
            authz = pending.peek(key)
            if authz is None:
                return _no_pending(request)
            return login_page(request, key, authz, {**OIDC_DEFAULT_FORM, **fields}, str(exc))
        authz = pending.pop(key)
        if authz is None:
            return _no_pending(request)
        return RedirectResponse(op.login(authz, choice.user, choice.scenario), status_code=302)

    async def token(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if media_type != _FORM_MEDIA_TYPE:
                raise OAuthError("invalid_request", f"send the parameters as {_FORM_MEDIA_TYPE}")
            try:
                form = single_valued(await form_items(request))
            except ParameterError as exc:
                raise OAuthError("invalid_request", str(exc)) from None
            body = await run_in_threadpool(op.token, request.headers.get("authorization"), form)
        except OAuthError as exc:
            return _oauth_error(exc)
        return JSONResponse(body, headers=_NO_STORE)

    def userinfo(request: Request) -> Response:
        try:
            claims = op.userinfo(request.headers.get("authorization"))
        except OAuthError as exc:
            return _oauth_error(exc)
        return JSONResponse(claims, headers=_NO_STORE)

    def replay(request: Request) -> Response:
        url = op.last_callback()
        if url is None:
            return pages.error(
                request, "Nothing to replay", "No OIDC login has been answered yet.", 404
            )
        return RedirectResponse(url, status_code=302)

    def _no_pending(request: Request) -> Response:
        return pages.error(
            request,
            "This login request expired",
            "The simulator no longer holds this authorization request (it was used, or is "
            "more than 10 minutes old, or the simulator restarted).",
        )

    return [
        Route("/.well-known/openid-configuration", discovery, methods=["GET"]),
        Route("/jwks.json", jwks, methods=["GET"], name="jwks"),
        Route("/authorize", authorize, methods=["GET"], name="authorize"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/token", token, methods=["POST"], name="token"),
        Route("/userinfo", userinfo, methods=["GET", "POST"], name="userinfo"),
        Route("/replay", replay, methods=["GET"], name="replay"),
    ]


def _oauth_error(error: OAuthError) -> Response:
    headers = dict(_NO_STORE)
    if error.www_authenticate is not None:
        headers["WWW-Authenticate"] = error.www_authenticate
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
