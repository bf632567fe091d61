"""`gatehouse doctor`: one line per check of the deployment, `ok`, `warn` or `FAIL`, and a
non-zero status if anything failed (`broker.doctor` holds the checks)."""

from __future__ import annotations

import os

import click

from broker.cli.root import cli
from broker.doctor import FAIL, diagnose


@cli.command()
def doctor() -> None:
    """Check the configuration, the database and its schema, the signing keys, the DNS
    resolver and every active connection's IdP; exit 1 if any check FAILs."""
    failed = False
    for finding in diagnose(os.environ):
        click.echo(finding.line)
        failed = failed or finding.status == FAIL
    if failed:
        raise SystemExit(1)
