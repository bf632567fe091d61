"""A customer's IdP at its worst: an OpenID Provider whose token endpoint drips its answer.

Discovery and JWKS answer at once, so a connection to it can be created and a login handed
off to it; the token endpoint then sends its answer one byte every `drip_seconds` (each read
well inside any per-read timeout, the whole never finishing), or nothing at all (`hang`).
Every other path is a 404. It is a real server on loopback, used by the isolation tests
(tests/e2e/test_isolation.py) and benchmark (`make bench-isolation`), in a thread or as its
own process: `python -m bench.slow_idp --port N [--mode drip|hang]`.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_KEYS: dict[str, list[object]] = {"keys": []}  # no login ever gets as far as a signature


@dataclass(frozen=True, slots=True)
class Behaviour:
    mode: str = "drip"  # "drip" | "hang"
    drip_seconds: float = 0.5


class SlowIdp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, behaviour: Behaviour) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.behaviour = behaviour
        self.closing = threading.Event()
        #: Token requests received, held right now, and the most held at once.
        self.token_requests = 0
        self.held = 0
        self.most_held = 0
        self._count_lock = threading.Lock()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @contextmanager
    def holding(self) -> Iterator[None]:
        with self._count_lock:
            self.token_requests += 1
            self.held += 1
            self.most_held = max(self.most_held, self.held)
        try:
            yield
        finally:
            with self._count_lock:
                self.held -= 1

    def discovery(self) -> bytes:
        return json.dumps(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        ).encode()


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server = self.server
        assert isinstance(server, SlowIdp)
        request = self.request
        assert isinstance(request, socket.socket)
        head = _read_head(request)
        if head is None:
            return
        path = head.split(b" ", 2)[1].split(b"?", 1)[0] if head.count(b" ") >= 2 else b""
        if path == b"/.well-known/openid-configuration":
            _answer(request, server.discovery())
        elif path == b"/jwks":
            _answer(request, json.dumps(_KEYS).encode())
        elif path == b"/token":
            with server.holding():
                _stall(request, server)
        else:
            request.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


def _read_head(request: socket.socket) -> bytes | None:
    data = b""
    request.settimeout(10)
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = request.recv(4096)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    return data


def _answer(request: socket.socket, body: bytes) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    request.sendall(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)


def _stall(request: socket.socket, server: SlowIdp) -> None:
    """Hold the caller: one byte at a time, or nothing, until it hangs up."""
    answer = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"access_token": "'
    answer += b"x" * 1_000_000
    behaviour = server.behaviour
    try:
        for byte in answer:
            if server.closing.wait(behaviour.drip_seconds):
                return
            if behaviour.mode == "drip":
                request.sendall(bytes([byte]))
            elif _peer_closed(request):
                return
    except OSError:
        return  # the caller gave up: exactly what it should do


def _peer_closed(request: socket.socket) -> bool:
    request.settimeout(0.001)
    try:
        return request.recv(1) == b""
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


@contextmanager
def running(behaviour: Behaviour | None = None, port: int = 0) -> Iterator[SlowIdp]:
    """The slow IdP in a background thread, until the block ends."""
    server = SlowIdp(port, behaviour or Behaviour())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["drip", "hang"], default="drip")
    parser.add_argument("--drip-seconds", type=float, default=0.5)
    args = parser.parse_args()
    with running(Behaviour(mode=args.mode, drip_seconds=args.drip_seconds), args.port):
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
