"""The admin portal as an ASGI app, mounted by the broker at `/portal`.

GET  /link/{token}   interstitial: spends nothing (mail scanners)
POST /link           exchange the link for a session; 303 to /
GET  /               welcome (an edit link: 303 to its connection's overview)
POST /sign-out       end the session
POST /connections/{id}/test   a test login in a new tab (trial_logins.py)
GET  /connections/{id}/tests/latest   whether a test finished, for the page that waits
                              on it (trial_status.py)
GET  /tests/{id}              its result and diagnosis (results.py, diagnosis/)
GET  /setup, /setup/{id}/...  the setup assistant for a new connection (setup/)
GET  /domains                 the domains step: DNS TXT record, "check now" (domains.py)
GET  /connections/{id}        an existing connection: overview, certificates, secret, the
                              draft's switch-over (maintain/)
GET  /directories, /directories/{id}/...   directory sync: SCIM set-up, what arrived, the
                              request log (directory_sync/)
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from admin_portal import (
    directory_sync,
    domains,
    home,
    links,
    maintain,
    results,
    setup,
    trial_logins,
    trial_status,
)
from admin_portal.body_cap import BodyCap
from admin_portal.page_context import Portal
from admin_portal.sessions import RedeemLimits, Sessions
from broker.clock import Clock
from broker.limiter import RateLimiter
from broker.management import Management
from broker.model.client_address import TrustedProxies
from broker.store import Store

STATIC = Path(__file__).parent / "static"


def create_portal(
    *,
    base_url: str,
    management: Management,
    store: Store,
    clock: Clock,
    secure: bool,
    start_test: trial_logins.LoginTestStarter,
    limiter: RateLimiter,
    redeem_limits: RedeemLimits,
    proxies: TrustedProxies,
) -> Starlette:
    sessions = Sessions(
        store=store, clock=clock, management=management, limiter=limiter, limits=redeem_limits
    )
    portal = Portal(
        base_url=base_url,
        management=management,
        sessions=sessions,
        clock=clock,
        secure=secure,
        proxies=proxies,
    )
    routes: list[BaseRoute] = [
        *links.routes(portal),
        *home.routes(portal),
        *setup.routes(portal),
        *domains.routes(portal),
        *directory_sync.routes(portal),
        *trial_logins.routes(portal, start_test),
        *trial_status.routes(portal),
        *results.routes(portal),
        *maintain.routes(portal),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/{path:path}", portal.not_found),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(BodyCap)])  # T-11: upload sizes
    app.state.portal = portal
    return app
