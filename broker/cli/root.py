"""The `gatehouse` command group and what its commands share: settings, output (text or
`--json` for configuration-as-code pipelines), and database access.

Whatever the broker refuses on purpose (a setting that cannot work, a database that is
unreachable or not migrated, a missing signing key) reaches the operator as one line,
`Error: ...`, and status 1: never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from broker import logs
from broker.app import Broker, build_broker, open_store
from broker.errors import BrokerError, ConfigError
from broker.management import Management
from broker.management.errors import InvalidInput, ManagementError
from broker.model.records import Organization
from broker.settings import Settings, parse_log_settings
from broker.store import NotFound, StoreUnavailable, UnitOfWork
from broker.store.sql import SqlStore


class Commands(click.Group):
    """The root group: turns the broker's refusals into click's one-line errors, for every
    command and subcommand below it."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        except (BrokerError, StoreUnavailable) as exc:
            raise click.ClickException(str(exc)) from exc


def load_settings() -> Settings:
    """A setting that cannot work raises `ConfigError`, which `Commands` prints."""
    return Settings.from_env()


def checked_store(settings: Settings) -> SqlStore:
    """The configured database, refused unless it is reachable and migrated: a command
    never gets as far as a missing table."""
    store = open_store(settings)
    try:
        store.check()
    except StoreUnavailable:
        store.engine.dispose()
        raise
    return store


def open_broker() -> Broker:
    """The wired core over the checked database, for commands that need more than rows."""
    settings = load_settings()
    return build_broker(settings, store=checked_store(settings))


def prepare_sqlite_dir(settings: Settings) -> None:
    if settings.database.url.startswith("sqlite:///"):
        Path(settings.database.url.removeprefix("sqlite:///")).parent.mkdir(
            parents=True, exist_ok=True
        )


def emit(as_json: bool, data: dict[str, Any], lines: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            click.echo(line)


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Organizations and domains need only the database, not keys or the login machinery."""
    store = checked_store(load_settings())
    try:
        with store.unit_of_work() as uow:
            yield uow
    finally:
        store.engine.dispose()


@contextmanager
def management() -> Iterator[Management]:
    """The management use cases (the same ones the API calls), with refusals turned into
    messages: a rule enforced for the API is enforced here too."""
    broker = open_broker()
    try:
        yield broker.management
    except InvalidInput as exc:
        raise click.ClickException("; ".join(e.detail for e in exc.errors)) from exc
    except ManagementError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        broker.close()


#: Who the audit log names for a change made at this command line.
CLI_ACTOR = "cli"


def find_organization(uow: UnitOfWork, ref: str) -> Organization:
    """`ref` is an organization id or an external id; refused if it names two different
    organizations (an external id that happens to be another organization's id)."""
    found: dict[str, Organization] = {}
    try:
        by_id = uow.organizations.get(ref)
        found[by_id.id] = by_id
    except NotFound:
        pass
    try:
        by_external_id = uow.organizations.get_by_external_id(ref)
        found[by_external_id.id] = by_external_id
    except NotFound:
        pass
    if not found:
        raise click.ClickException(f"no organization has the id or external id {ref!r}")
    if len(found) > 1:
        raise click.ClickException(
            f"{ref!r} is the id of one organization and the external id of another; "
            "use the id: " + ", ".join(sorted(found))
        )
    return next(iter(found.values()))


@click.group(cls=Commands)
@click.version_option(package_name="gatehouse", prog_name="gatehouse")
@click.option("--verbose", "-v", is_flag=True, help="Log at INFO level.")
def cli(verbose: bool) -> None:
    """Gatehouse: an enterprise SSO broker."""
    logs.install()
    try:
        log_format = parse_log_settings(os.environ).format
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    handler = logging.StreamHandler()
    handler.setFormatter(logs.formatter(log_format))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
