"""The separate metrics listener (`GATEHOUSE_METRICS_LISTEN=127.0.0.1:9464`).

For operators who keep metrics off the public listener: a plain HTTP server on its own
address, typically loopback or an internal interface that only Prometheus reaches, serving
`GET /metrics` and nothing else (any other path is 404), without a token: who can reach the
address may read. It runs in threads of its own, so a scrape never waits behind logins and
is never rate-limited.

Who starts it: `gatehouse serve --workers N` (N > 1) in the process that starts the
workers, reading every worker's files; otherwise the app's own process
(`broker.app.create_app_from_env`), with its pool read at scrape time.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from broker.errors import ConfigError
from broker.metrics.exposition import Exposition

log = logging.getLogger(__name__)

VARIABLE = "GATEHOUSE_METRICS_LISTEN"


class MetricsListener:
    def __init__(self, address: tuple[str, int], exposition: Exposition) -> None:
        self._address = address
        self._exposition = exposition
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the system's choice for 0)."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Listen, or refuse by the variable's name (the address is taken, not local...)."""
        host, port = self._address
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
            self._server = _Server((host, port), family, self._exposition)
        except OSError as exc:
            raise ConfigError(
                VARIABLE, f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-listener", daemon=True
        )
        self._thread.start()
        log.info("metrics listener on %s:%s/metrics", host, self.port)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], family: socket.AddressFamily, exposition: Exposition
    ) -> None:
        # The family `host` resolves to: an IPv6 address such as `::1` needs AF_INET6.
        self.address_family = family
        self.exposition = exposition
        super().__init__(address, _MetricsOnly)


class _MetricsOnly(BaseHTTPRequestHandler):
    """GET /metrics (a query string is ignored); 404 for any other path."""

    server_version = "gatehouse-metrics"
    sys_version = ""

    def do_GET(self) -> None:
        if urlsplit(self.path).path != "/metrics":
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")
            return
        assert isinstance(self.server, _Server)
        body, content_type = self.server.exposition.render(self.headers.get("Accept", ""))
        self._answer(200, body, content_type)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds are not worth a line each."""
