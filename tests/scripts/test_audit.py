"""`scripts/audit` (docs/security.md X-04): pass, fail, or say it did not run.

The real pip-audit runs against an OSV-speaking server on loopback that knows one advisory,
so "a pinned version with a known vulnerability fails CI" is shown without the internet; an
address nobody listens on stands for an unreachable service. PyPI's answer on a machine that
reaches only package files (404 for every version) is fed to the interpretation directly.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "audit"
ADVISORY = {
    "id": "GHSA-test-0000-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "a made-up hole",
    "affected": [
        {
            "package": {"name": "idna", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


def load_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("gatehouse_audit", str(SCRIPT))
    spec = importlib.util.spec_from_loader("gatehouse_audit", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


@pytest.fixture
def osv() -> Iterator[tuple[str, list[dict[str, Any]], list[str]]]:
    """A local OSV query endpoint; the test fills `vulnerable` with package names."""
    vulnerable: list[str] = []
    asked: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["content-length"])))
            asked.append(query)
            found = query["package"]["name"] in vulnerable
            body = json.dumps({"vulns": [ADVISORY]} if found else {}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query", asked, vulnerable
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_a_pinned_version_with_a_known_vulnerability_fails(osv: Any) -> None:
    url, asked, vulnerable = osv
    vulnerable.append("idna")
    done = audit("--service", "osv", "--osv-url", url)
    assert done.returncode == 1, done.stdout + done.stderr
    # pip-audit puts the CVE first when there is one.
    assert "VULNERABLE idna 3.20: CVE-2099-0001 (GHSA-test-0000-0000); fixed in 99.0" in done.stdout
    pinned = {q["package"]["name"]: q["version"] for q in asked}
    assert pinned["idna"] == "3.20"
    assert {"authlib", "python3-saml", "xmlsec", "lxml", "pip-audit"} <= set(pinned)


def test_no_known_vulnerability_passes(osv: Any) -> None:
    url, _, _ = osv
    done = audit("--service", "osv", "--osv-url", url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no known vulnerability in the" in done.stdout
    assert "NOT RUN" not in done.stdout


def test_an_unreachable_service_is_said_and_does_not_fail() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    done = audit("--service", "osv", "--osv-url", f"http://127.0.0.1:{port}/v1/query")
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith("dependency audit NOT RUN: no advisory service reachable (osv: ")


def test_pypi_not_knowing_any_pinned_version_is_not_a_pass() -> None:
    """What pip-audit reports (and exits 0 on: "No known vulnerabilities found") when PyPI's
    per-version JSON API answers 404, as a package-files-only mirror does."""
    script = load_script()
    report = {
        "dependencies": [
            {"name": "idna", "skip_reason": "Dependency not found on PyPI and could not be "
             "audited: idna (3.20)"},
            {"name": "lxml", "skip_reason": "Dependency not found on PyPI and could not be "
             "audited: lxml (6.1.3)"},
        ],
        "fixes": [],
    }  # fmt: skip
    found = script.verdict(report, 0, "", "pypi")
    assert found.status == 0
    assert found.not_run is not None
    assert "none of the 2 pinned packages could be looked up" in found.not_run


def test_a_partial_answer_lists_what_was_not_audited() -> None:
    script = load_script()
    report = {
        "dependencies": [
            {"name": "idna", "version": "3.20", "vulns": []},
            {"name": "lxml", "skip_reason": "not found"},
        ]
    }
    found = script.verdict(report, 0, "", "pypi")
    assert (found.status, found.not_run) == (0, None)
    assert "not audited: lxml: not found" in found.lines


def test_every_dependency_is_pinned_exactly() -> None:
    pins = load_script().pins(SCRIPT.parents[1] / "pyproject.toml")
    assert all("==" in pin for pin in pins)
    assert "pip-audit==2.10.1" in pins
