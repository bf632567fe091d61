"""What the client is told of a refused login (OpenID Connect Core §3.1.2.6, RFC 6749
§4.1.2.1, RFC 9207 §2).

A refusal after the client and its redirect URI were validated, in the browser the flow
belongs to, ends with the client knowing: an error redirect with `error`, an
`error_description` holding a public reason code and the reference the person's page shows,
`state` and `iss`. The client chooses when (`OnRefusal`): after Gatehouse's page, whose
button carries the error back, or at once.

Which OAuth error, by what the person can do about it:

- `login_required`: trying again can work (the answer was too old);
- `temporarily_unavailable`: the IdP could not be reached, or is busy;
- `server_error`: the IdP's connection is set up wrong (its documents cannot be used);
- `access_denied`: everything else an IdP's answer is refused for.

The code in the description is the reason where telling it helps the person and harms no
one (`idp_refused`, `email_not_verified`...). Every verification failure shares one code,
`invalid_answer`, as it shares one page: which check failed is for the audit log (X-03).

No error is sent for a refusal of the flow itself (expired, another browser, another
connection, a forged form, an unsolicited answer): nothing proves the client and the person
are the ones who started it, so they stay pages (RFC 9700 §4.11.2). Nor for an answer that
arrives after another one took the hand-off: the request's one response is that answer's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from broker.clock import Clock
from broker.errors import UserFacingError
from broker.http import HttpRequest, Redirect
from broker.model.reasons import Reason, parse_reason
from broker.model.records import OnRefusal, PendingAuthorization
from broker.oidc.provider import Provider
from broker.store import NotFound, Store

log = logging.getLogger(__name__)

_R = Reason

#: Refusals never told to a client: those that prove nothing about who is asking, and
#: an answer arriving after another took the hand-off (that one's outcome is the request's
#: one response; telling this one too would be a second, and consuming the flow for it
#: would refuse the answer that took it).
STAY_ON_THE_PAGE: frozenset[Reason] = frozenset(
    {_R.FLOW_EXPIRED, _R.UNSOLICITED, _R.FORM_REFUSED, _R.BROWSER_MISMATCH,
     _R.WRONG_CONNECTION, _R.UNKNOWN_CONNECTION, _R.INTERNAL_ERROR, _R.SETTINGS_CHANGED,
     _R.INVALID_EMAIL, _R.UNKNOWN_DOMAIN, _R.UNKNOWN_ORGANIZATION, _R.NO_ACTIVE_CONNECTION,
     _R.ANSWER_ALREADY_USED}
)  # fmt: skip

#: The IdP could not be reached or answer in time: a retry later can work.
UNREACHABLE: frozenset[Reason] = frozenset(
    {_R.DISCOVERY_UNAVAILABLE, _R.JWKS_UNAVAILABLE, _R.TOKEN_ENDPOINT_UNAVAILABLE,
     _R.USERINFO_UNAVAILABLE, _R.IDP_BUSY, _R.IDP_CIRCUIT_OPEN}
)  # fmt: skip

#: The IdP's connection is set up wrong: its documents and endpoints cannot be used.
MISCONFIGURED: frozenset[Reason] = frozenset(
    {_R.DISCOVERY_ISSUER_MISMATCH, _R.DISCOVERY_INVALID, _R.DISCOVERY_REFUSED,
     _R.JWKS_REFUSED, _R.JWKS_INVALID, _R.NO_COMMON_ALGORITHM, _R.TOKEN_ENDPOINT_REFUSED,
     _R.USERINFO_REFUSED}
)  # fmt: skip

#: Reasons with an error of their own; their code is the reason itself.
_OWN_ERROR: Mapping[Reason, str] = {
    _R.EXPIRED: "login_required",
    _R.STALE_AUTHENTICATION: "login_required",
    _R.IDP_REFUSED: "access_denied",
    _R.MISSING_ATTRIBUTES: "access_denied",
    _R.EMAIL_NOT_VERIFIED: "access_denied",
    _R.CONSUMER_ACCOUNT: "access_denied",
    _R.HOSTED_DOMAIN_NOT_VERIFIED: "access_denied",
    _R.EMAIL_DOMAIN_NOT_VERIFIED: "access_denied",
    _R.CONNECTION_INACTIVE: "access_denied",
    _R.DIRECTORY_USER_INACTIVE: "access_denied",
    _R.DIRECTORY_USER_UNKNOWN: "access_denied",
}

#: The one code every other verification failure is told as.
INVALID_ANSWER = "invalid_answer"

#: RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E.
_NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


@dataclass(frozen=True, slots=True)
class ClientError:
    """An OAuth error and the public code the client's description carries."""

    error: str
    code: str

    def description(self, reference: str | None) -> str:
        """The code, and the reference the person's page shows (their IT team, or the app's
        support, finds the audit event by it)."""
        text = self.code if not reference else f"{self.code} (reference {reference})"
        return _NOT_ALLOWED_IN_DESCRIPTION.sub("", text)


def client_error(recorded_reason: str) -> ClientError | None:
    """What the client is told of a refusal recorded as `recorded_reason` (a `Reason`, or
    `idp_refused:<code>`), or None when it stays a page."""
    reason = parse_reason(recorded_reason)
    if reason is None or reason in STAY_ON_THE_PAGE:
        return None
    if reason in UNREACHABLE:
        return ClientError("temporarily_unavailable", "idp_unavailable")
    if reason in MISCONFIGURED:
        return ClientError("server_error", "idp_misconfigured")
    error = _OWN_ERROR.get(reason)
    if error is not None:
        return ClientError(error, reason.value)
    return ClientError("access_denied", INVALID_ANSWER)


class ClientReturns:
    """Telling the client of a refused login, once (see the module docstring)."""

    def __init__(self, *, provider: Provider, store: Store, clock: Clock) -> None:
        self._provider = provider
        self._store = store
        self._clock = clock

    def tell(
        self,
        flow: PendingAuthorization | None,
        recorded_reason: str,
        page: UserFacingError,
        request: HttpRequest,
    ) -> Redirect:
        """The refusal's page, with a button that takes the person back to the client with
        the error; the error at once for a client set to `OnRefusal.REDIRECT`. Only the page
        where the client cannot be told: no flow from this browser, a test login (the
        portal shows its own result), a client deleted since, a reason that stays a page.

        A flow the client is told about ends here: it is consumed, so the request gets one
        response (this error), never a code later through the same flow. When a concurrent
        answer consumed it first, that answer's response is the one; this stays a page."""
        told = client_error(recorded_reason)
        if flow is None or flow.test is not None or told is None:
            raise page
        on_refusal = self._provider.on_refusal(flow.request.client_id)
        if on_refusal is None:
            raise page
        with self._store.unit_of_work() as uow:
            try:
                uow.flows.consume(flow.id, now=self._clock.now())
            except NotFound:
                raise page from None
        back = self._provider.deny(flow, told.error, told.description(request.request_id))
        log.info("refusal told to client=%s error=%s", flow.request.client_id, told.error)
        if on_refusal is OnRefusal.REDIRECT:
            return back
        raise page.returning_to(back.location)
