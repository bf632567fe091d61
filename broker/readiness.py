"""Can this instance serve logins now? What `/readyz` answers.

Three checks, in order, each named in the answer: `database` (it answers a trivial read
within a short timeout), `schema` (it is at the head of this code's migrations) and
`signing_key` (the key manager has a CURRENT key it can decrypt, so ID tokens can be
signed). A check that cannot run because an earlier one failed says so.

The answer is for anyone who can reach the port, so a failure is named in words that hold
no host, user or driver message: those go to the log, once when the outcome changes (not
once per probe; a load balancer probes every few seconds). The cost is bounded whatever
the probe rate: an outcome is reused for `fresh_for`, and at most one check runs at a
time; a probe arriving meanwhile gets the previous outcome at once instead of waiting (and
holding a worker thread) on a database that may be hanging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from broker.keys import KeyDecryptionError, KeyManager, NoSigningKeyError
from broker.store import DatabaseUnreachable, SchemaNotCurrent, Store

log = logging.getLogger(__name__)

OK = "ok"
CHECKS = ("database", "schema", "signing_key")


@dataclass(frozen=True, slots=True)
class Outcome:
    """Each check's words for the answer, and what the log says about the failing ones."""

    checks: dict[str, str]
    #: check -> the operator's detail (may name hosts); only for the log.
    details: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(words == OK for words in self.checks.values())


NOT_CHECKED_YET = Outcome(
    checks=dict.fromkeys(CHECKS, "not checked yet"),
    details={},
)


class Readiness:
    """One per app, shared by every worker thread that answers `/readyz`."""

    def __init__(
        self,
        *,
        store: Store,
        keys: KeyManager,
        fresh_for: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._keys = keys
        self._fresh_for = fresh_for
        self._monotonic = monotonic
        self._running = threading.Lock()
        self._last: tuple[Outcome, float] | None = None
        self._logged: Outcome | None = None

    def outcome(self) -> Outcome:
        """Blocking (database reads): call it from a worker thread."""
        if not self._running.acquire(blocking=False):
            return self._last[0] if self._last is not None else NOT_CHECKED_YET
        try:
            now = self._monotonic()
            if self._last is not None and now - self._last[1] < self._fresh_for:
                return self._last[0]
            outcome = self._check()
            self._last = (outcome, now)
            self._log_change(outcome)
            return outcome
        finally:
            self._running.release()

    def _check(self) -> Outcome:
        checks: dict[str, str] = {}
        details: dict[str, str] = {}
        try:
            self._store.check()
        except DatabaseUnreachable as exc:
            checks["database"] = "unreachable"
            details["database"] = str(exc)
            checks["schema"] = checks["signing_key"] = "not checked: the database is unreachable"
            return Outcome(checks=checks, details=details)
        except SchemaNotCurrent as exc:
            checks["database"] = OK
            checks["schema"] = exc.summary
            details["schema"] = str(exc)
            checks["signing_key"] = "not checked: the schema is not current"
            return Outcome(checks=checks, details=details)
        checks["database"] = checks["schema"] = OK
        checks["signing_key"], detail = self._signing_key()
        if detail:
            details["signing_key"] = detail
        return Outcome(checks=checks, details=details)

    def _signing_key(self) -> tuple[str, str]:
        """(words, detail). Any failure is caught: a probe answers, whatever broke."""
        try:
            self._keys.signing_key()
        except NoSigningKeyError as exc:
            return "no current signing key: run gatehouse migrate", str(exc)
        except KeyDecryptionError as exc:
            return (
                "the current signing key cannot be decrypted: check GATEHOUSE_SECRET_KEY",
                str(exc),
            )
        except Exception as exc:
            return "failed (see the log)", f"{type(exc).__name__}: {exc}"
        return OK, ""

    def _log_change(self, outcome: Outcome) -> None:
        previous = self._logged
        if previous is not None and previous.details == outcome.details:
            return
        self._logged = outcome
        if not outcome.ready:
            log.warning("not ready: %s", "; ".join(f"{n}: {d}" for n, d in outcome.details.items()))
        elif previous is not None:
            log.info("ready again")
