"""Which IdP certificate verified each SAML login, as the SAML connector reports it.

The connector calls `verified` after a login passed every check (`ConnectorDeps.
certificate_use`); the record is what lets the metadata refresh drop a certificate the
IdP stopped publishing only once another one has verified a login
(`broker.jobs.saml_metadata_refresh`). It is written in a unit of work of its own, never
the login's, and at most once a minute per certificate and process: a busy connection's
logins do not each pay for a write, and the refresh only needs to know a certificate
works, not every time it did.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from broker.clock import Clock
from broker.store import NotFound, Store

log = logging.getLogger(__name__)

#: A certificate's use is written at most this often per process.
WRITE_EVERY = timedelta(minutes=1)
#: Remembered (connection, certificate) pairs per process, beyond which the oldest go.
_MAX_REMEMBERED = 10_000


class CertificateUseLog:
    """A `broker.upstream.base.CertificateUse` over the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._written: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def verified(self, connection_id: str, fingerprint: str) -> None:
        now = self._clock.now()
        key = (connection_id, fingerprint)
        with self._lock:
            last = self._written.get(key)
            if last is not None and now - last < WRITE_EVERY:
                return
            self._written[key] = now
            if len(self._written) > _MAX_REMEMBERED:
                del self._written[next(iter(self._written))]
        try:
            with self._store.unit_of_work() as uow:
                uow.saml_certificate_use.verified(connection_id, fingerprint, at=now)
        except NotFound:
            pass  # the connection was deleted meanwhile: nothing to keep
        except Exception:  # the login succeeded; its bookkeeping must not fail it
            log.exception("could not record the certificate connection %s used", connection_id)
            with self._lock:
                self._written.pop(key, None)
