"""A real HTTP server on a free loopback port, in a background thread of the test process.

uvicorn's own proxy headers are off, as `gatehouse serve` runs it: who the client is is the
broker's decision (`GATEHOUSE_TRUSTED_PROXIES`), not the server's.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    url: str
    #: The server's thread: no longer alive once the server has shut down.
    thread: threading.Thread


@contextmanager
def serve(app: ASGIApp, port: int) -> Iterator[str]:
    """Run `app` on 127.0.0.1:`port` until the block ends; yields its base URL. The app's
    lifespan is not run (no background work: tests drive the app's state themselves)."""
    with serve_config(_config(app, port, lifespan="off")) as served:
        yield served.url


@contextmanager
def serve_with_lifespan(app: ASGIApp, port: int) -> Iterator[Served]:
    """`serve`, with the app's lifespan run as `gatehouse serve` runs it: startup before the
    first request, shutdown when the block ends. After the block, `thread` says whether the
    server stopped (within the join's generous limit)."""
    with serve_config(_config(app, port, lifespan="on")) as served:
        yield served


def _config(app: ASGIApp, port: int, *, lifespan: Literal["on", "off"]) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan=lifespan,
        proxy_headers=False,
    )


@contextmanager
def serve_config(config: uvicorn.Config) -> Iterator[Served]:
    """Run a server configured by the caller (its logging, its lifespan) until the block
    ends."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Served(url=f"http://127.0.0.1:{config.port}", thread=thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
