"""Recording a refused login: a log line, a count in the metrics and the reason on the step's
trace span always, an audit event as a rule.

The exception is the refusal no live flow stands behind (an unknown or spent `state`, an
unsolicited SAMLResponse): anyone can send those by the thousand to a connection's ACS, so
their event is kept to one per connection and reason a minute (counted on the shared rate
limit counters, so every instance together), and the audit log stays the customer's record
rather than an attacker's storage. The log line is still written for each one.
"""

from __future__ import annotations

import logging

from broker import tracing
from broker.clock import Clock
from broker.limiter import RateLimiter
from broker.login.trail import LoginTrail
from broker.metrics import recording as metrics
from broker.model.rate_limits import Limit
from broker.model.reasons import Reason
from broker.store import Store

log = logging.getLogger(__name__)

#: Refusals of answers no live flow stands behind, and how often they are recorded.
WITHOUT_A_FLOW = frozenset({Reason.FLOW_EXPIRED, Reason.UNSOLICITED})
_EVENT_A_MINUTE = Limit(name="login-failed-event", requests=1)


class FailedLogins:
    def __init__(self, *, store: Store, clock: Clock, limiter: RateLimiter) -> None:
        self._store = store
        self._clock = clock
        self._limiter = limiter

    def record(self, trail: LoginTrail, reason: str, detail: str) -> None:
        """`reason` as the event stores it: a `Reason`, or `UpstreamError.recorded_reason`
        (which adds the IdP's own code to `idp_refused`)."""
        log.warning(
            "login refused connection=%s reason=%s detail=%s",
            trail.connection_id,
            reason,
            detail,
        )
        metrics.login_refused(trail.protocol, reason)
        tracing.refused(reason)
        if reason in WITHOUT_A_FLOW:
            key = f"{trail.connection_id}:{reason}"
            if self._limiter.check(_EVENT_A_MINUTE.bucket(key)) is not None:
                return
        event = trail.event(
            "login.failed", reason, now=self._clock.now(), detail={"detail": detail}
        )
        with self._store.unit_of_work() as uow:
            uow.audit.record(event)
