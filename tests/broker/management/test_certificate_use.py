"""Which certificate verified a login, recorded beside the login, not in it
(broker/management/certificate_use.py), on each backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from broker.clock import FixedClock
from broker.management.certificate_use import WRITE_EVERY, CertificateUseLog
from broker.store import NotFound, Store
from tests.support.factories import add_organization


@pytest.fixture
def connection_id(store: Store) -> str:
    with store.unit_of_work() as uow:
        _, connection = add_organization(
            uow, org_id="org_use", name="Use", domain="use.test", now=FixedClock().now(),
            connection_id="con_use",
        )  # fmt: skip
    return connection.id


def last_verified(store: Store, connection_id: str) -> dict[str, object]:
    with store.unit_of_work() as uow:
        return dict(uow.saml_certificate_use.last_verified(connection_id))


def test_the_latest_use_of_each_certificate_is_kept(store: Store, connection_id: str) -> None:
    clock = FixedClock()
    log = CertificateUseLog(store, clock)
    first = clock.now()
    log.verified(connection_id, "AA")
    clock.advance(WRITE_EVERY)
    log.verified(connection_id, "AA")
    log.verified(connection_id, "BB")
    assert last_verified(store, connection_id) == {"AA": clock.now(), "BB": clock.now()}
    assert first < clock.now()


def test_a_busy_certificate_is_written_once_a_minute(store: Store, connection_id: str) -> None:
    clock = FixedClock()
    log = CertificateUseLog(store, clock)
    log.verified(connection_id, "AA")
    written = clock.now()
    clock.advance(WRITE_EVERY - timedelta(seconds=1))
    log.verified(connection_id, "AA")
    assert last_verified(store, connection_id) == {"AA": written}


def test_a_deleted_connection_is_no_error(store: Store) -> None:
    CertificateUseLog(store, FixedClock()).verified("con_gone", "AA")  # does not raise
    with store.unit_of_work() as uow, pytest.raises(NotFound):
        uow.saml_certificate_use.verified("con_gone", "AA", at=FixedClock().now())


def test_uses_go_with_their_connection(store: Store, connection_id: str) -> None:
    CertificateUseLog(store, FixedClock()).verified(connection_id, "AA")
    with store.unit_of_work() as uow:
        uow.connections.delete("org_use", connection_id)
    assert last_verified(store, connection_id) == {}
