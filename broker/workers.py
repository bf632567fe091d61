"""Two worker pools: one for the routes that wait on customers' IdPs, one for the rest.

The core is synchronous (docs/architecture.md, "A synchronous core behind an async edge"),
so every request's work runs in a worker thread. A login through an OIDC connection waits
there on the customer's IdP; the SAML ACS, the email page and the admin portal (metadata and
discovery fetches) may too. If those shared one pool with `/token`, userinfo, discovery, JWKS
and the management API, enough slow IdPs would hold every thread and stall Auth0's token
requests for every customer. So the routes that may wait on an IdP run in the *login pool*,
and everything else in anyio's default pool; within the login pool, each connection's
bulkhead (`broker.upstream.bulkhead`) keeps one IdP to a few threads.

`run_in_threadpool` has Starlette's signature and picks the pool that `UseLoginPool` (an ASGI
middleware around a mounted app) or the caller named for this request; code that runs in
either place (the portal) imports it from here.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar
from weakref import WeakKeyDictionary

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

P = ParamSpec("P")
T = TypeVar("T")


class LoginPool:
    """The login pool's size, and its limiter in each event loop (a limiter belongs to the
    loop it was first used in; tests run several)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
            WeakKeyDictionary()
        )

    def limiter(self) -> CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = CapacityLimiter(self.threads)
        return limiter

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(func, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self.limiter())


_current: contextvars.ContextVar[LoginPool | None] = contextvars.ContextVar(
    "gatehouse_login_pool", default=None
)


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """In this request's pool: the login pool under `UseLoginPool`, else the default."""
    pool = _current.get()
    if pool is None:
        call = functools.partial(func, *args, **kwargs)
        return await anyio.to_thread.run_sync(call)
    return await pool.run(func, *args, **kwargs)


class UseLoginPool:
    """Every request to the wrapped app does its blocking work in the login pool."""

    def __init__(self, app: ASGIApp, pool: LoginPool) -> None:
        self.app = app
        self.pool = pool

    @property
    def routes(self) -> list[Any]:
        """The wrapped app's routes: a `Mount` reads them to build URLs and to list them."""
        return list(getattr(self.app, "routes", []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _current.set(self.pool)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
