"""`python -m idp_simulator` serves on the configured port, says where (SAML metadata, OIDC
issuer and client), and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 20.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "the simulator exited early"
        try:
            return httpx.get(url, timeout=2.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_module_serves_metadata_and_stops_on_sigterm(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "IDP_SIM_PORT": str(port),
        "IDP_SIM_KEY_DIR": str(tmp_path / "keys"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("IDP_SIM_BASE_URL", "IDP_SIM_OIDC_CLIENT_ID", "IDP_SIM_OIDC_CLIENT_SECRET"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "idp_simulator"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = wait_for(f"http://127.0.0.1:{port}/metadata", process)
        assert response.status_code == 200
        assert f'entityID="http://127.0.0.1:{port}/metadata"' in response.text
        assert (tmp_path / "keys" / "idp-simulator-key.pem").is_file()
        issuer = f"http://127.0.0.1:{port}/oidc"
        discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5.0)
        assert discovery.json()["issuer"] == issuer
    finally:
        os.kill(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert f"http://127.0.0.1:{port}/metadata" in stdout
    assert f"http://127.0.0.1:{port}/oidc" in stdout
    assert "client id:              gatehouse" in stdout
    assert "client secret:" in stdout  # generated, so printed
    assert "stopped (SIGTERM)" in stdout
