"""The README's onboarding snippet runs as written against `make run` (`gatehouse demo`):
the block is read out of README.md and executed in a fresh interpreter, with the demo's
management credentials in the environment, as a reader would paste it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from broker.demo import DEMO_MANAGEMENT_CLIENT_ID
from tests.support.demo_process import running_demo

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def onboarding_snippet() -> str:
    block = re.search(r"<!-- onboarding-snippet -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert block, "the README lost its onboarding snippet"
    return block.group(1)


def test_the_readme_onboarding_snippet_runs_against_the_demo(tmp_path: Path) -> None:
    snippet = onboarding_snippet()
    assert len(snippet.strip().splitlines()) <= 14  # "a dozen lines"
    with running_demo(tmp_path) as demo:
        demo.wait_until_up()
        secret = (demo.var_dir / "demo-management-client-secret").read_text().strip()
        env = {
            **os.environ,
            "GATEHOUSE_URL": demo.issuer,
            "GATEHOUSE_CLIENT_ID": DEMO_MANAGEMENT_CLIENT_ID,
            "GATEHOUSE_CLIENT_SECRET": secret,
        }
        ran = subprocess.run(
            [sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=60
        )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith(
        "Acme publishes: _gatehouse-challenge.acme-corp.example TXT gatehouse-domain-verification="
    )
    assert lines[1].startswith(f"Send Acme's IT admin: {demo.issuer}/portal/link/")
    events = [line.split()[-1] for line in lines[2:]]
    assert events == ["portal_link.created", "domain.added", "organization.created"]
    assert secret in demo.output[0]  # the banner printed what the snippet needed
