"""Database addresses that fail the way real ones do, on loopback and without a server to
misconfigure: a port where nothing listens (connection refused), and a port that accepts
the TCP connection and then never says a word (what a stalled server or a half-open proxy
looks like, where only a connect timeout helps)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

#: The password every URL below carries, which no output may show.
PASSWORD = "s3cret-Pa55"


def postgres_url(port: int, *, query: str = "") -> str:
    return f"postgresql+psycopg://gatehouse:{PASSWORD}@127.0.0.1:{port}/gatehouse{query}"


def masked(port: int) -> str:
    return f"postgresql+psycopg://gatehouse:***@127.0.0.1:{port}/gatehouse"


@contextmanager
def refusing_port() -> Iterator[int]:
    """Bound, never listening: the kernel answers every connection with a reset, and no
    other process can take the port meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """Listening, never accepting: the handshake completes in the backlog, and the client
    then waits for a server greeting that never comes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
