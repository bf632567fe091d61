"""Per-connection bulkheads and circuit breakers (broker/upstream/bulkhead.py), on a fake
monotonic clock: each rule is a sequence of operations and what the next one gets."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest

from broker.model.reasons import Reason
from broker.upstream.base import UpstreamInvalid, UpstreamUnavailable
from broker.upstream.bulkhead import BulkheadLimits, Bulkheads

LIMITS = BulkheadLimits(
    max_in_flight=2,
    max_waiting=0,
    failures_to_open=3,
    open_for_seconds=30,
    max_open_for_seconds=100,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def opened(self, key: str, *, failures: int, problem: str, retry_in_seconds: float) -> None:
        self.calls.append(("opened", f"{key} {failures} {problem} {retry_in_seconds:g}"))

    def closed(self, key: str) -> None:
        self.calls.append(("closed", key))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def bulkheads(clock: Clock, listener: Listener) -> Bulkheads:
    return Bulkheads(LIMITS, listener=listener, clock=clock)


def fail(bulkheads: Bulkheads, key: str = "con_a", problem: str = "timed out") -> None:
    with pytest.raises(UpstreamUnavailable), bulkheads.slot(key):
        raise UpstreamUnavailable(Reason.TOKEN_ENDPOINT_UNAVAILABLE, detail=problem)


def succeed(bulkheads: Bulkheads, key: str = "con_a") -> None:
    with bulkheads.slot(key):
        pass


def refusal(bulkheads: Bulkheads, key: str = "con_a") -> str:
    with pytest.raises(UpstreamUnavailable) as refused, bulkheads.slot(key):
        pytest.fail("the operation ran")
    return refused.value.reason


def test_a_connection_holds_at_most_its_share_of_operations(bulkheads: Bulkheads) -> None:
    with ExitStack() as held:
        held.enter_context(bulkheads.slot("con_a"))
        held.enter_context(bulkheads.slot("con_a"))
        assert refusal(bulkheads) == "idp_busy"
        succeed(bulkheads, "con_b")  # another connection is not affected
    succeed(bulkheads)  # the slots came back


def test_consecutive_failures_open_the_circuit_and_refuse_at_once(
    bulkheads: Bulkheads, listener: Listener
) -> None:
    fail(bulkheads)
    fail(bulkheads)
    assert not bulkheads.is_open("con_a")
    fail(bulkheads, problem="did not answer within 10 s")
    assert bulkheads.is_open("con_a")
    assert refusal(bulkheads) == "idp_circuit_open"
    assert listener.calls == [("opened", "con_a 3 did not answer within 10 s 30")]
    succeed(bulkheads, "con_b")


def test_a_success_resets_the_count(bulkheads: Bulkheads) -> None:
    fail(bulkheads)
    fail(bulkheads)
    succeed(bulkheads)
    fail(bulkheads)
    fail(bulkheads)
    assert not bulkheads.is_open("con_a")


def test_an_answer_that_fails_verification_proves_the_idp_is_up(bulkheads: Bulkheads) -> None:
    fail(bulkheads)
    fail(bulkheads)
    with pytest.raises(UpstreamInvalid), bulkheads.slot("con_a"):
        raise UpstreamInvalid(Reason.SIGNATURE_INVALID)
    fail(bulkheads)
    assert not bulkheads.is_open("con_a")


def test_after_the_open_period_one_trial_passes_and_its_success_closes(
    bulkheads: Bulkheads, clock: Clock, listener: Listener
) -> None:
    for _ in range(3):
        fail(bulkheads)
    clock.now += 30
    with bulkheads.slot("con_a"):
        # While the trial runs, everyone else is still refused at once.
        assert refusal(bulkheads) == "idp_circuit_open"
    assert not bulkheads.is_open("con_a")
    succeed(bulkheads)
    assert listener.calls[-1] == ("closed", "con_a")


def test_a_failed_trial_opens_again_for_longer_up_to_the_maximum(
    bulkheads: Bulkheads, clock: Clock, listener: Listener
) -> None:
    for _ in range(3):
        fail(bulkheads)
    waits = []
    for _ in range(4):
        clock.now += 1000
        fail(bulkheads)
        waits.append(listener.calls[-1][1].rsplit(" ", 1)[1])
    assert waits == ["60", "100", "100", "100"]
    clock.now += 99
    assert refusal(bulkheads) == "idp_circuit_open"


def test_operations_started_before_the_circuit_opened_do_not_reopen_it(
    bulkheads: Bulkheads, clock: Clock, listener: Listener
) -> None:
    with bulkheads.slot("con_a"):
        for _ in range(3):
            fail(bulkheads)
        opened_until = clock.now + 30
    # The late success of an operation admitted while closed leaves the circuit open.
    assert bulkheads.is_open("con_a")
    assert clock.now < opened_until
    assert [c[0] for c in listener.calls] == ["opened"]


def test_in_flight_only_slots_never_open_a_circuit(bulkheads: Bulkheads) -> None:
    for _ in range(10):
        with pytest.raises(UpstreamUnavailable), bulkheads.slot("setup:org", breaker=False):
            raise UpstreamUnavailable(Reason.DISCOVERY_UNAVAILABLE)
    with ExitStack() as held:
        held.enter_context(bulkheads.slot("setup:org", breaker=False))
        held.enter_context(bulkheads.slot("setup:org", breaker=False))
        with pytest.raises(UpstreamUnavailable) as refused:
            held.enter_context(bulkheads.slot("setup:org", breaker=False))
        assert refused.value.reason == "idp_busy"


def test_a_failing_listener_does_not_change_the_outcome(clock: Clock) -> None:
    class Broken:
        def opened(self, key: str, **_: object) -> None:
            raise RuntimeError("database down")

        def closed(self, key: str) -> None:
            raise RuntimeError("database down")

    bulkheads = Bulkheads(LIMITS, listener=Broken(), clock=clock)
    for _ in range(3):
        fail(bulkheads)
    assert bulkheads.is_open("con_a")


def test_healthy_connections_leave_no_state_behind(bulkheads: Bulkheads) -> None:
    for n in range(100):
        succeed(bulkheads, f"con_{n}")
    assert bulkheads._states == {}


def test_a_burst_at_a_healthy_idp_queues_briefly_and_is_served(clock: Clock) -> None:
    """Twelve logins at once at an IdP that answers quickly: three run, the rest wait for
    a slot instead of being refused (a cold start's discovery fetch, a 9 a.m. rush)."""
    bulkheads = Bulkheads(
        BulkheadLimits(max_in_flight=3, max_waiting=9, wait_seconds=10), clock=clock
    )
    served = []
    gate = threading.Barrier(12)

    def operation(n: int) -> None:
        gate.wait()
        with bulkheads.slot("con_a"):
            threading.Event().wait(0.02)
            served.append(n)

    threads = [threading.Thread(target=operation, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(served) == list(range(12))


def test_past_the_queue_or_its_wait_the_next_one_is_refused(clock: Clock) -> None:
    bulkheads = Bulkheads(
        BulkheadLimits(max_in_flight=1, max_waiting=1, wait_seconds=0.2), clock=clock
    )
    outcomes: list[str] = []
    waiting = threading.Event()

    def waiter() -> None:
        waiting.set()
        try:
            with bulkheads.slot("con_a"):
                outcomes.append("ran")
        except UpstreamUnavailable as exc:
            outcomes.append(exc.reason)

    with bulkheads.slot("con_a"):
        thread = threading.Thread(target=waiter)
        thread.start()
        waiting.wait()
        for _ in range(100):  # until the waiter is queued
            if bulkheads._states["con_a"].waiting:
                break
            threading.Event().wait(0.01)
        # The queue is full: refused at once, without waiting.
        assert refusal(bulkheads) == "idp_busy"
        thread.join()  # the waiter gave up after its wait
    assert outcomes == ["idp_busy"]


def test_concurrent_operations_never_exceed_the_limit(clock: Clock) -> None:
    bulkheads = Bulkheads(BulkheadLimits(max_in_flight=3), clock=clock)
    inside = 0
    most = 0
    lock = threading.Lock()
    gate = threading.Barrier(12)

    def operation() -> None:
        nonlocal inside, most
        gate.wait()
        try:
            with bulkheads.slot("con_a"):
                with lock:
                    inside += 1
                    most = max(most, inside)
                threading.Event().wait(0.05)
                with lock:
                    inside -= 1
        except UpstreamUnavailable:
            pass

    threads = [threading.Thread(target=operation) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 3


def test_without_a_listener_transitions_are_only_logged(clock: Clock) -> None:
    bulkheads = Bulkheads(LIMITS, clock=clock)
    for _ in range(3):
        fail(bulkheads)
    assert bulkheads.is_open("con_a")
    clock.now += 30
    succeed(bulkheads)
    assert not bulkheads.is_open("con_a")


def test_refuse_while_open_refuses_only_until_a_trial_is_due(
    bulkheads: Bulkheads, clock: Clock
) -> None:
    bulkheads.refuse_while_open("con_a")  # never seen: nothing to refuse
    fail(bulkheads)
    bulkheads.refuse_while_open("con_a")  # failing, but closed
    fail(bulkheads)
    fail(bulkheads)
    with pytest.raises(UpstreamUnavailable) as refused:
        bulkheads.refuse_while_open("con_a")
    assert refused.value.reason == "idp_circuit_open"
    assert refused.value.facts == {"problem": "timed out"}
    clock.now += 29.9
    with pytest.raises(UpstreamUnavailable):
        bulkheads.refuse_while_open("con_a")
    clock.now += 0.1
    bulkheads.refuse_while_open("con_a")  # a trial may go ahead
    assert bulkheads.is_open("con_a")


def test_a_trial_without_a_free_slot_is_refused_and_the_next_may_try(
    bulkheads: Bulkheads, clock: Clock
) -> None:
    for _ in range(3):
        fail(bulkheads)
    clock.now += 30
    with ExitStack() as held:
        # Setup fetches (in-flight only) hold every slot when the trial is due.
        held.enter_context(bulkheads.slot("con_a", breaker=False))
        held.enter_context(bulkheads.slot("con_a", breaker=False))
        assert refusal(bulkheads) == "idp_busy"
    # That trial never ran: the next operation is the trial, and its success closes.
    succeed(bulkheads)
    assert not bulkheads.is_open("con_a")


def test_an_operation_waiting_for_a_slot_is_refused_if_the_circuit_opens_meanwhile(
    clock: Clock,
) -> None:
    bulkheads = Bulkheads(
        BulkheadLimits(max_in_flight=1, max_waiting=1, wait_seconds=10, failures_to_open=1),
        clock=clock,
    )
    outcomes: list[str] = []

    def waiter() -> None:
        try:
            with bulkheads.slot("con_a"):
                outcomes.append("ran")
        except UpstreamUnavailable as exc:
            outcomes.append(exc.reason)

    thread = threading.Thread(target=waiter)

    def fail_once_the_waiter_is_queued() -> None:
        thread.start()
        for _ in range(500):
            if bulkheads._states["con_a"].waiting:
                break
            threading.Event().wait(0.01)
        assert bulkheads._states["con_a"].waiting == 1
        raise UpstreamUnavailable(Reason.TOKEN_ENDPOINT_UNAVAILABLE, detail="timed out")

    with pytest.raises(UpstreamUnavailable), bulkheads.slot("con_a"):
        fail_once_the_waiter_is_queued()
    thread.join()
    assert outcomes == ["idp_circuit_open"]
    assert bulkheads.is_open("con_a")
