"""The route table (Starlette style: a list, no decorators)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from broker.web.endpoints import Endpoint, Endpoints
from broker.web.management import ApiEndpoints
from broker.web.scim import ScimEndpoints
from broker.workers import UseLoginPool

STATIC_DIR = Path(__file__).parent / "static"


def build_routes(
    endpoints: Endpoints,
    api: ApiEndpoints,
    portal: ASGIApp,
    metrics: Endpoint | None = None,
    scim: ScimEndpoints | None = None,
) -> list[BaseRoute]:
    """`metrics`: `/metrics` for Prometheus, when the operator set a token for it
    (`broker.web.metrics`); without one, the path is unknown like any other. `scim`: the
    directories' SCIM service providers (`broker.web.scim`)."""
    optional = [] if metrics is None else [Route("/metrics", metrics, methods=["GET"])]
    directories = [] if scim is None else scim.routes()
    return [
        *optional,
        *directories,
        Mount("/api/v1", routes=api.routes()),
        # The admin portal is its own app (own sessions, own pages), under the same origin so
        # its test logins come back through Gatehouse's ACS and redirect URIs. It fetches
        # IdP metadata and discovery, so it works in the login pool (`broker.workers`).
        Mount("/portal", app=UseLoginPool(portal, endpoints.login_pool)),
        Route("/", endpoints.home, methods=["GET"]),
        Route("/healthz", endpoints.health, methods=["GET"]),
        Route("/readyz", endpoints.ready, methods=["GET"]),
        Route("/.well-known/openid-configuration", endpoints.discovery, methods=["GET"]),
        Route("/jwks.json", endpoints.jwks, methods=["GET"]),
        Route("/authorize", endpoints.authorize, methods=["GET", "POST"]),
        Route("/token", endpoints.token, methods=["GET", "POST"]),
        Route("/userinfo", endpoints.userinfo, methods=["GET", "POST"]),
        Route("/login", endpoints.submit_email, methods=["POST"]),
        Route("/login/choose", endpoints.choose, methods=["POST"]),
        Route("/saml/{connection_id:str}/acs", endpoints.callback, methods=["POST"]),
        Route("/saml/{connection_id:str}/metadata", endpoints.connection_metadata),
        Route("/oidc/{connection_id:str}/callback", endpoints.callback, methods=["GET"]),
        Route("/oidc/{connection_id:str}/jwks.json", endpoints.connection_metadata),
        Route("/callback/{connection_id:str}", endpoints.callback, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
