"""A webhook receiver on loopback: a real HTTP server whose behaviour a test switches
between answering, failing, hanging, dripping and hanging up, and which keeps every
request it got (headers and raw body, for an independent signature check).

    behaviour   what each request gets
    ok          204 at once
    error       500 with a short body
    hang        nothing until the server stops (the sender's deadline ends it)
    drip        200 and a body one byte every `drip_seconds` (the minimum rate ends it)
    close       the connection closed without an answer
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Behaviour = Literal["ok", "error", "hang", "drip", "close"]


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes
    #: The behaviour it met: only `ok` requests were delivered.
    answered: Behaviour


@dataclass
class Receiver:
    url: str
    behaviour: Behaviour = "ok"
    drip_seconds: float = 0.5
    #: Seconds an `ok` answer waits first (a slow but healthy receiver).
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    #: Called once a request is read, before it is answered (a change made while the
    #: worker waits on this request).
    before_answer: Callable[[], object] | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered == "ok"]

    def delivered_ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.delivered()]


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        receiver = self.receiver
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        behaviour = receiver.behaviour
        with receiver.lock:
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(headers, body, behaviour))
        if receiver.before_answer is not None:
            receiver.before_answer()
        if behaviour == "ok":
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            self.send_response(204)
            self.send_header("connection", "close")
            self.send_header("content-length", "0")
            self.end_headers()
        elif behaviour == "error":
            answer = b"receiver exploded " + b"x" * 4000
            self.send_response(500)
            self.send_header("connection", "close")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        elif behaviour == "hang":
            receiver.stopping.wait(30)
        elif behaviour == "drip":
            self.send_response(200)
            self.send_header("connection", "close")
            self.send_header("content-length", "1000")
            self.end_headers()
            for _ in range(1000):
                if receiver.stopping.wait(receiver.drip_seconds):
                    break
                try:
                    self.wfile.write(b".")
                    self.wfile.flush()
                except OSError:
                    break
        else:
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    #: The default backlog (5) refuses connections under a burst of parallel senders.
    request_queue_size = 256


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    handler = type("Handler", (_Handler,), {})
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    handler.receiver = receiver  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
