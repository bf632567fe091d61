"""Debian's nginx as a reverse proxy in front of a test's broker, or as a load balancer in
front of several: the test's own process (`daemon off`, one process, stopped by its PID),
its configuration, pid and logs in a temporary folder, on a free loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.live_server import free_port
from tests.support.tiers import missing_dependency

NGINX = Path("/usr/sbin/nginx")
_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0

# `master_process off`: one process, whose PID is the one we started (a master would fork
# workers running as another user, who could not write to the test's folder).
_CONFIG = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""

# The production guide's load balancer (README, "Running in production"; the upstream rules
# of compose.yaml's deploy/nginx.conf): round robin without sticky sessions; an instance that
# refuses a connection is taken out for `fail_timeout` and the request goes to the next one.
# nginx does that for every method whose request was not yet sent; a request already sent is
# passed on only when idempotent (GET, HEAD...): a POST that reached an instance which then
# died is answered 502. `X-Upstream` tells the test which instances a request went to.
_BALANCER_CONFIG = """\
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$request_method $uri $status $upstream_addr $upstream_status';
    access_log {folder}/access.log upstreams;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream gatehouse {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port}{ssl};
{tls}
        location / {{
            proxy_pass http://gatehouse;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@contextmanager
def reverse_proxy(upstream: str, folder: Path, *, port: int | None = None) -> Iterator[str]:
    """nginx on 127.0.0.1:`port` (a free one by default) forwarding to `upstream`
    (`http://127.0.0.1:PORT`); yields its own base URL. It appends the address each
    connection came from to `X-Forwarded-For`, as a production proxy does."""
    port = port or free_port()
    with _nginx(_CONFIG.format(folder=folder, port=port, upstream=upstream), folder, port):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def load_balancer(
    upstreams: Sequence[str],
    folder: Path,
    *,
    port: int | None = None,
    tls: tuple[str, str] | None = None,
) -> Iterator[str]:
    """nginx on 127.0.0.1:`port` spreading requests round robin over `upstreams`
    (`127.0.0.1:PORT` each), as the production guide's proxy does; yields its base URL.
    With `tls` (certificate PEM, key PEM) it terminates TLS, as in production, and the URL
    is https. Every answer carries `X-Upstream`: the instances the request was sent to, in
    order."""
    port = port or free_port()
    folder.mkdir(parents=True, exist_ok=True)
    tls_lines = ""
    if tls is not None:
        certificate, key = folder / "certificate.pem", folder / "key.pem"
        certificate.write_text(tls[0])
        key.write_text(tls[1])
        tls_lines = f"        ssl_certificate {certificate};\n        ssl_certificate_key {key};"
    servers = "\n".join(
        f"        server {address} max_fails=1 fail_timeout=30s;" for address in upstreams
    )
    config = _BALANCER_CONFIG.format(
        folder=folder, port=port, servers=servers, ssl=" ssl" if tls else "", tls=tls_lines
    )
    with _nginx(config, folder, port):
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"


@contextmanager
def _nginx(config_text: str, folder: Path, port: int) -> Iterator[None]:
    if not NGINX.exists():
        missing_dependency(f"{NGINX} is missing (Debian package nginx-light)")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(config_text)
    error_log = folder / "error.log"
    command = [str(NGINX), "-p", str(folder), "-c", str(config), "-e", str(error_log)]
    popen = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(port, popen, error_log)
        yield
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)  # nginx: fast shutdown
            try:
                popen.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=_STOP_TIMEOUT_S)


def _wait_for_port(port: int, popen: subprocess.Popen[bytes], error_log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise AssertionError(f"nginx exited ({popen.returncode}):\n{log}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise AssertionError(f"nginx did not listen on 127.0.0.1:{port}")
