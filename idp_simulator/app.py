"""The simulator's web layer: thin Starlette routes over `SimulatedIdp`, plus the OpenID
Provider's routes (`oidc_routes`) mounted under `/oidc`.

Routes read the request, call the core once, and render a page. The pending AuthnRequest is
kept server side (`PendingRequests`); the login form only carries its key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys, generate, load_or_create
from idp_simulator.login_form import DEFAULT_FORM, LoginFormError, parse_login_form
from idp_simulator.oidc.provider import SimulatedOp
from idp_simulator.oidc.routes import OIDC_SCENARIOS, oidc_routes
from idp_simulator.pending import PendingRequests
from idp_simulator.saml.authn_request import AuthnRequestError, AuthnRequestInfo, Binding
from idp_simulator.saml.idp import PostBack, SimulatedIdp
from idp_simulator.saml.scenarios import DESCRIPTIONS
from idp_simulator.scim.form import DEFAULTS as SCIM_DEFAULTS
from idp_simulator.scim.routes import ScimConsole, scim_routes
from idp_simulator.web import (
    SECURITY_HEADERS,
    Pages,
    ParameterError,
    SecurityHeaders,
    form_items,
    single_valued,
)

__all__ = ["METADATA_MEDIA_TYPE", "SECURITY_HEADERS", "create_app"]

METADATA_MEDIA_TYPE = "application/samlmetadata+xml"
SIGN_MODES = ("both", "assertion", "response")
_HERE = Path(__file__).parent


def create_app(
    config: SimulatorConfig | None = None,
    *,
    keys: IdpKeys | None = None,
    clock: Callable[[], datetime] | None = None,
    next_keys: IdpKeys | None = None,
) -> Starlette:
    """The simulator as an ASGI app. Defaults: config from the environment, keys from
    `config.key_dir` (created there once) or fresh in memory, the system clock in UTC.

    The SAML IdP and the OpenID Provider share the key pair (the OP publishes its public half
    as a JWK) and the throwaway key of their wrong-key scenarios. `next_keys`: the SAML
    IdP's next signing key, for a certificate rollover (`POST /rollover`, one step at a
    time; made on the first step without one).
    """
    config = config if config is not None else SimulatorConfig.from_env()
    if keys is None:
        keys = load_or_create(config.key_dir) if config.key_dir is not None else generate()
    now = clock if clock is not None else _utc_now
    idp = SimulatedIdp(config, keys, now, next_keys=next_keys)
    op = SimulatedOp(config, keys, now, wrong_keys=idp.wrong_keys)
    pending = PendingRequests[AuthnRequestInfo]()
    scenarios = [(scenario.value, text) for scenario, text in DESCRIPTIONS.items()]
    pages = Pages(_HERE / "templates", {"scenarios": scenarios})
    scim = ScimConsole()

    def login_page(
        request: Request,
        key: str,
        info: AuthnRequestInfo,
        form: dict[str, str],
        problem: str | None = None,
    ) -> Response:
        context = {
            "pending": key,
            "request_info": info,
            "form": form,
            "error": problem,
            "form_action": request.url_for("login"),
            "sign_modes": SIGN_MODES,
        }
        return pages.render(request, "login.html", context, 200 if problem is None else 400)

    def autopost(request: Request, postback: PostBack, label: str) -> Response:
        return pages.render(request, "autopost.html", {"postback": postback, "label": label})

    def home(request: Request) -> Response:
        context = {
            "metadata_url": config.entity_id,
            "sso_url": config.sso_url,
            "allowed_acs": config.allowed_acs_prefixes,
            "oidc_issuer": config.oidc_issuer,
            "oidc_discovery_url": f"{config.oidc_issuer}/.well-known/openid-configuration",
            "oidc_client_id": config.oidc_client_id,
            "oidc_scenarios": OIDC_SCENARIOS,
            **scim.form_context(dict(SCIM_DEFAULTS)),
        }
        return pages.render(request, "home.html", context)

    def metadata(_request: Request) -> Response:
        return Response(idp.metadata_xml(), media_type=METADATA_MEDIA_TYPE)

    async def rollover(request: Request) -> Response:
        """A step of a signing-certificate rollover (`step`: publish, switch, retire), as
        the IdP's admin would take it; what the metadata lists and which key signs follow."""
        try:
            step = single_valued(await form_items(request)).get("step", "")
            idp.rollover(step)
        except (ParameterError, ValueError) as exc:
            return PlainTextResponse(str(exc), status_code=409)
        return PlainTextResponse(f"rollover: {step}")

    def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def sso(request: Request) -> Response:
        binding: Binding = "redirect" if request.method == "GET" else "post"
        if binding == "redirect":
            items = request.query_params.multi_items()
        else:
            items = await form_items(request)
        try:
            info = idp.parse_request(binding, single_valued(items))
        except (ParameterError, AuthnRequestError) as exc:
            return pages.error(request, "This login request cannot be answered", str(exc))
        form = dict(DEFAULT_FORM)
        if info.subject_hint:
            form["email"] = info.subject_hint
        return login_page(request, pending.put(info), info, form)

    async def login(request: Request) -> Response:
        try:
            fields = single_valued(await form_items(request))
        except ParameterError as exc:
            return pages.error(request, "The login form is not usable", str(exc))
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
            return pages.error(
                request, "Nothing to replay", "No response has been posted yet.", 404
            )
        return autopost(request, postback, "replay of the last response")

    def _no_pending(request: Request) -> Response:
        return pages.error(
            request,
            "This login request expired",
            "The simulator no longer holds this AuthnRequest (it was used, or is more than "
            "10 minutes old, or the simulator restarted).",
        )

    def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        return pages.error(request, f"Error {status}", str(detail), status)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"], name="home"),
            Route("/metadata", metadata, methods=["GET"]),
            Route("/rollover", rollover, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/sso", sso, methods=["GET", "POST"]),
            Route("/sso/login", login, methods=["POST"], name="login"),
            Route("/replay", replay, methods=["GET"], name="replay"),
            *scim_routes(pages, scim),
            Mount("/oidc", routes=oidc_routes(op, pages), name="oidc"),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: http_error},
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)
