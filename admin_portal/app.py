"""The admin portal as an ASGI app, mounted by the broker at `/portal`.

GET  /link/{token}   interstitial: spends nothing (mail scanners)
POST /link           exchange the link for a session; 303 to /
GET  /               welcome (or, for an edit link, the connection's overview)
POST /sign-out       end the session
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from admin_portal import home, links
from admin_portal.kit import Portal
from admin_portal.sessions import Sessions
from admin_portal.test_logins import LoginTestStarter
from broker.clock import Clock
from broker.management import Management
from broker.store import Store

STATIC = Path(__file__).parent / "static"


def create_portal(
    *,
    base_url: str,
    management: Management,
    store: Store,
    clock: Clock,
    secure: bool,
    test_logins: LoginTestStarter,
) -> Starlette:
    portal = Portal(
        base_url=base_url,
        management=management,
        sessions=Sessions(store=store, clock=clock, management=management),
        clock=clock,
        secure=secure,
    )
    routes: list[BaseRoute] = [
        *links.routes(portal),
        *home.routes(portal),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.portal = portal
    app.state.test_logins = test_logins
    return app
