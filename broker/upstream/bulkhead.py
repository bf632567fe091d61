"""Bulkheads and circuit breakers: one customer's IdP cannot take the workers of another.

A login through an OIDC connection waits on the customer's IdP (discovery, token endpoint,
JWKS, userinfo), in a worker thread. The deadline (`deadline.py`) bounds how long one request
waits; this module bounds how many of them one connection may have at once, and stops asking
an IdP that keeps failing:

- **In flight.** At most `max_in_flight` operations per key (a connection id) wait on the IdP
  at the same moment, in this process, and a few more may queue briefly for a slot. The next
  one is refused at once (`idp_busy`): its person gets the "identity provider unreachable"
  page instead of a thread parked behind the others.
- **Circuit breaker.** After `failures_to_open` consecutive failures (timeouts, refused
  connections, server errors: `UpstreamUnavailable`), the circuit opens and every operation is
  refused at once (`idp_circuit_open`) for `open_for`. Then one trial operation may pass (half
  open): its success closes the circuit, its failure opens it again for twice as long, up to
  `max_open_for`. An answer that fails verification still proves the IdP is up, so it counts
  as a success here.

State is per process, as a bulkhead protects this process's workers; each instance learns on
its own. Transitions are reported to a `BreakerListener` (the composition root records them as
audit events, which the portal's overview reads). Each refusal is counted in the metrics, and
the requests an admitted operation makes are counted under its key (`broker.metrics`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from broker.metrics import recording as metrics
from broker.model.reasons import Reason
from broker.upstream.errors import UpstreamUnavailable

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkheadLimits:
    """`max_waiting` operations may wait up to `wait_seconds` for a slot: a burst of logins
    at a healthy IdP (answers in milliseconds) queues briefly and succeeds, while at a slow
    one the queue stays full and the rest are refused at once. So one connection holds at
    most `max_in_flight + max_waiting` threads, each for at most a deadline."""

    max_in_flight: int = 8
    max_waiting: int = 8
    wait_seconds: float = 2.0
    failures_to_open: int = 5
    open_for_seconds: float = 30.0
    max_open_for_seconds: float = 300.0


class BreakerListener(Protocol):
    def opened(self, key: str, *, failures: int, problem: str, retry_in_seconds: float) -> None:
        """The circuit of `key` opened: its operations are refused until a trial passes."""
        ...

    def closed(self, key: str) -> None:
        """A trial passed: `key` is served again."""
        ...


class _Quiet:
    def opened(self, key: str, *, failures: int, problem: str, retry_in_seconds: float) -> None:
        pass

    def closed(self, key: str) -> None:
        pass


@dataclass(slots=True)
class _State:
    in_flight: int = 0
    waiting: int = 0
    failures: int = 0
    #: While open: when a trial may pass. None while closed.
    open_until: float | None = None
    open_for: float = 0.0
    trial_running: bool = False
    last_problem: str = ""

    @property
    def idle(self) -> bool:
        return not (self.in_flight or self.waiting or self.failures or self.open_until)


@dataclass(slots=True)
class _Pass:
    """One admitted operation; `trial` when it is the half-open circuit's probe."""

    trial: bool
    breaker: bool
    outcome: str = field(default="success")


class Bulkheads:
    """The in-flight limits and breakers of every key, for one process."""

    def __init__(
        self,
        limits: BulkheadLimits | None = None,
        *,
        listener: BreakerListener | None = None,
        clock: Monotonic = time.monotonic,
    ) -> None:
        self._limits = limits or BulkheadLimits()
        self._listener: BreakerListener = listener or _Quiet()
        self._clock = clock
        self._changed = threading.Condition()
        self._states: dict[str, _State] = {}

    @contextmanager
    def slot(self, key: str, *, breaker: bool = True) -> Iterator[None]:
        """Run one operation that waits on `key`'s IdP, or refuse it.

        Raises `UpstreamUnavailable(IDP_BUSY | IDP_CIRCUIT_OPEN)` before the block
        runs; records the block's outcome when it ends. `breaker=False` only limits what is
        in flight (an admin's setup fetches: a wrong URL typed five times is not an outage)."""
        try:
            admitted = self._admit(key, breaker)
        except UpstreamUnavailable as exc:
            metrics.idp_refused(key, exc.reason)
            raise
        try:
            with metrics.calls_to(key):
                yield
        except UpstreamUnavailable as exc:
            admitted.outcome = exc.detail or exc.recorded_reason
            raise
        finally:
            self._release(key, admitted)

    def refuse_while_open(self, key: str) -> None:
        """Refuse at once while `key`'s circuit is open and no trial is due yet (a step
        that would not itself ask the IdP, such as sending a person to log in there)."""
        with self._changed:
            state = self._states.get(key)
            until = state.open_until if state is not None else None
            if state is not None and until is not None and self._clock() < until:
                metrics.idp_refused(key, Reason.IDP_CIRCUIT_OPEN)
                raise _circuit_open(state)

    def is_open(self, key: str) -> bool:
        with self._changed:
            state = self._states.get(key)
            return state is not None and state.open_until is not None

    def _admit(self, key: str, breaker: bool) -> _Pass:
        limits = self._limits
        with self._changed:
            state = self._states.setdefault(key, _State())
            admitted = _Pass(trial=False, breaker=breaker)
            if breaker and state.open_until is not None:
                if self._clock() < state.open_until or state.trial_running:
                    raise _circuit_open(state)
                state.trial_running = admitted.trial = True
            if state.in_flight >= limits.max_in_flight and state.waiting < limits.max_waiting:
                state.waiting += 1
                try:
                    self._changed.wait_for(
                        lambda: state.in_flight < limits.max_in_flight, limits.wait_seconds
                    )
                finally:
                    state.waiting -= 1
            if state.in_flight >= limits.max_in_flight:
                if admitted.trial:
                    state.trial_running = False
                self._forget_if_idle(key, state)
                raise UpstreamUnavailable(
                    Reason.IDP_BUSY,
                    detail=f"{state.in_flight} requests to this IdP already in flight",
                    facts={"in_flight": str(state.in_flight)},
                )
            if breaker and not admitted.trial and state.open_until is not None:
                raise _circuit_open(state)  # it opened while this one waited
            state.in_flight += 1
            return admitted

    def _release(self, key: str, admitted: _Pass) -> None:
        opened: tuple[int, str, float] | None = None
        closed = False
        with self._changed:
            state = self._states[key]
            state.in_flight -= 1
            self._changed.notify()
            if admitted.trial:
                state.trial_running = False
            if not admitted.breaker:
                pass  # in-flight only: no outcome to count
            elif admitted.outcome == "success":
                closed = state.open_until is not None and admitted.trial
                if state.open_until is None or admitted.trial:
                    state.failures, state.open_until, state.open_for = 0, None, 0.0
            else:
                state.failures += 1
                state.last_problem = admitted.outcome
                if admitted.trial or (
                    state.open_until is None and state.failures >= self._limits.failures_to_open
                ):
                    state.open_for = min(
                        max(state.open_for * 2, self._limits.open_for_seconds),
                        self._limits.max_open_for_seconds,
                    )
                    state.open_until = self._clock() + state.open_for
                    opened = (state.failures, state.last_problem, state.open_for)
            self._forget_if_idle(key, state)
        if opened is not None:
            failures, problem, retry_in = opened
            log.warning("circuit opened key=%s failures=%s problem=%s", key, failures, problem)
            self._tell(lambda: self._listener.opened(
                key, failures=failures, problem=problem, retry_in_seconds=retry_in
            ))  # fmt: skip
        if closed:
            log.info("circuit closed key=%s", key)
            self._tell(lambda: self._listener.closed(key))

    def _forget_if_idle(self, key: str, state: _State) -> None:
        """A healthy key keeps no state: the map stays as small as the trouble."""
        if state.idle and self._states.get(key) is state:
            del self._states[key]

    @staticmethod
    def _tell(report: Callable[[], None]) -> None:
        """A listener that fails (its database is down) must not turn the operation's own
        outcome into another error."""
        try:
            report()
        except Exception:
            log.exception("circuit breaker listener failed")


def _circuit_open(state: _State) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        Reason.IDP_CIRCUIT_OPEN,
        detail=f"circuit open after {state.failures} failures: {state.last_problem}",
        facts={"problem": state.last_problem[:300]},
    )
