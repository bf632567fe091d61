"""Checks the management API's resource tests share: organizations to hang resources on,
"not found" answers compared as a caller sees them, the use-case layer behind the app, and
everything the database holds as text (to prove a secret is not in it)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from broker.app import Broker
from broker.management import Management
from broker.store.sql.tables import metadata
from tests.support.management_api import ApiWorld


def organization(world: ApiWorld, name: str = "Acme") -> str:
    world.clock.advance(timedelta(seconds=1))
    response = world.admin().post("/organizations", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def problem(response: httpx.Response) -> dict[str, object]:
    """The problem document minus `instance` (the request id, different on every call)."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, object] = response.json()
    body.pop("instance", None)
    return body


def assert_same_not_found(foreign: httpx.Response, absent: httpx.Response) -> None:
    """Another organization's resource answers exactly what an absent one does (M-01,
    M-10): the same status and the same problem, so nothing tells them apart."""
    assert foreign.status_code == absent.status_code == 404, (foreign.text, absent.text)
    assert problem(foreign) == problem(absent)


def assert_scope_refused(response: httpx.Response, scope: str) -> None:
    assert response.status_code == 403, response.text
    refused = problem(response)
    assert refused["scope"] == scope
    assert scope in str(refused["detail"])


def pointers(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    errors = problem(response)["errors"]
    assert isinstance(errors, list)
    return {str(e["pointer"]) for e in errors}


def management(world: ApiWorld) -> Management:
    """The use cases behind the app under test (the portal's door, issue 6)."""
    broker = getattr(world.http.app, "state").broker  # noqa: B009 (ASGIApp has no .state)
    assert isinstance(broker, Broker)
    return broker.management


def database_text(engine: Engine) -> str:
    """Every row of every table, as text; and for SQLite the file's bytes too (free pages,
    the WAL), where a value a row no longer shows could linger."""
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in connection.execute(sa.select(table)))
    if engine.dialect.name == "sqlite" and engine.url.database:
        for path in (Path(engine.url.database), Path(engine.url.database + "-wal")):
            if path.exists():
                parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)
