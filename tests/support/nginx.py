"""Debian's nginx as a reverse proxy in front of a test's broker: the test's own process
(`daemon off`, one process, stopped by its PID), its configuration, pid and logs in a
temporary folder, on a free loopback port."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
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


@contextmanager
def reverse_proxy(upstream: str, folder: Path, *, port: int | None = None) -> Iterator[str]:
    """nginx on 127.0.0.1:`port` (a free one by default) forwarding to `upstream`
    (`http://127.0.0.1:PORT`); yields its own base URL. It appends the address each
    connection came from to `X-Forwarded-For`, as a production proxy does."""
    if not NGINX.exists():
        missing_dependency(f"{NGINX} is missing (Debian package nginx-light)")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = folder / "nginx.conf"
    config.write_text(_CONFIG.format(folder=folder, port=port, upstream=upstream))
    error_log = folder / "error.log"
    command = [str(NGINX), "-p", str(folder), "-c", str(config), "-e", str(error_log)]
    popen = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(port, popen, error_log)
        yield f"http://127.0.0.1:{port}"
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
