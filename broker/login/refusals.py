"""What a person is told when a login is refused, by reason.

The audit log keeps the precise machine reason (`signature_invalid`, `wrong_audience`...);
the person gets a page they can act on. Verification failures share one page: telling an
attacker which check failed helps them, and telling an employee does not (X-03). The one
exception is an answer too old to be accepted, which a second try can fix. Where the
client can be told, the page also gets a button back to it (`returns.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from broker.errors import UserFacingError
from broker.login.returns import MISCONFIGURED
from broker.model.reasons import Reason
from broker.model.records import PendingAuthorization
from broker.upstream.base import (
    UpstreamError,
    UpstreamIncomplete,
    UpstreamInvalid,
    UpstreamPolicyRefusal,
    UpstreamRejected,
    UpstreamUnavailable,
)

_START_AGAIN = "Go back to the application and start again."
_ASK_IT = "If it keeps happening, give your IT team the reference below."

#: A page: its title, what the person can do, the HTTP status.
_Page = tuple[str, str, int]

#: Every verification failure but the few below (X-03).
_INVALID_ANSWER: _Page = (
    "We could not verify your sign-in",
    "Your identity provider's answer failed a security check. Try again. " + _ASK_IT,
    400,
)
_UNREACHABLE: _Page = (
    "Your identity provider cannot be reached",
    "We could not contact your organization's identity provider just now. Try again in a "
    "few minutes. " + _ASK_IT,
    502,
)
_TOO_OLD: _Page = (
    "Sign in again",
    "Your identity provider's answer was too old to be accepted: answers count for a few "
    "minutes, and the application may ask for a recent sign-in. Sign in again. If it keeps "
    "happening, your identity provider's clock may be wrong: give your IT team the reference "
    "below.",
    400,
)
_MISCONFIGURED_PAGE: _Page = (
    "Single sign-on is not set up correctly",
    "Your organization's identity provider connection has a configuration problem that "
    "your IT team needs to fix. " + _ASK_IT,
    502,
)

#: The reasons with a page of their own: the login's own refusals, and the rules an
#: authentic account breaks.
_PAGES: Mapping[Reason, _Page] = {
    Reason.FLOW_EXPIRED: (
        "This sign-in has expired",
        "Sign-in links last a few minutes and work once. " + _START_AGAIN,
        400,
    ),
    Reason.BROWSER_MISMATCH: (
        "This sign-in was started in another browser",
        "For your safety a sign-in must finish in the browser that started it. " + _START_AGAIN,
        400,
    ),
    Reason.UNKNOWN_CONNECTION: (
        "This sign-in answer arrived at the wrong place",
        "The single sign-on connection it was sent to does not exist. " + _ASK_IT,
        404,
    ),
    Reason.FORM_REFUSED: (
        "This sign-in form has expired",
        "For your safety, the form must be sent from the page Gatehouse showed this browser. "
        + _START_AGAIN,
        403,
    ),
    Reason.CONNECTION_INACTIVE: (
        "Single sign-on was turned off",
        "Your organization turned this sign-in method off while you were signing in. " + _ASK_IT,
        403,
    ),
    Reason.WRONG_CONNECTION: (
        "This sign-in answer arrived at the wrong place",
        "Your identity provider answered for a different connection. " + _START_AGAIN,
        400,
    ),
    Reason.UNSOLICITED: (
        "Start signing in from the application",
        "Your identity provider sent a sign-in that this application did not ask for (an "
        "IdP-initiated login, for example from a dashboard tile). That is not enabled here, "
        "for your protection. Open the application and choose single sign-on there.",
        400,
    ),
    Reason.ANSWER_ALREADY_USED: (
        "This sign-in was already answered",
        "Your identity provider's answer for this sign-in arrived before (a reload, or the back "
        "button). " + _START_AGAIN,
        400,
    ),
    Reason.EMAIL_NOT_VERIFIED: (
        "Your email address is not verified",
        "Your identity provider says it has not verified the email address on your account. "
        "Ask your IT team to verify it, then try again.",
        403,
    ),
    Reason.CONSUMER_ACCOUNT: (
        "Use your work account",
        "You signed in with a personal account. Sign out of it at your identity provider, "
        "then sign in with the account your organization gave you.",
        403,
    ),
    Reason.HOSTED_DOMAIN_NOT_VERIFIED: (
        "Your account belongs to another organization",
        "Your identity provider says your account belongs to a domain this organization has "
        "not verified. " + _ASK_IT,
        403,
    ),
    Reason.DIRECTORY_USER_INACTIVE: (
        "Your account has been deactivated by your organization's IT team",
        "Your organization's directory lists your account as deactivated, so you cannot "
        "sign in to this application. If you think this is a mistake, contact your IT team "
        "and give them the reference below.",
        403,
    ),
    Reason.DIRECTORY_USER_UNKNOWN: (
        "Your account is not set up for this application",
        "Your organization gives access to this application through its directory, and your "
        "account is not in it (it may have been removed). Ask your IT team to give you "
        "access, and give them the reference below.",
        403,
    ),
    Reason.EMAIL_DOMAIN_NOT_VERIFIED: (
        "Your email address cannot be used here",
        "Your identity provider signed you in with an address outside the domains your "
        "organization has verified. Ask your IT team to check the email attribute sent to "
        "this application.",
        403,
    ),
}


class LoginRefused(Exception):
    """A policy or binding refusal inside the login service; `reason` goes to the audit
    log, `page` to the person. `flow`, when set, is the flow the refusal is for, taken from
    its own browser: the client that started it can be told (`returns.py`)."""

    def __init__(
        self, reason: Reason, detail: str, *, flow: PendingAuthorization | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.flow = flow
        self.page = refusal_page(reason, detail=detail)


def refusal_page(
    reason: Reason,
    *,
    detail: str,
    idp_said: str | None = None,
    missing: Sequence[str] = (),
    hint: str = "",
) -> UserFacingError:
    if reason is Reason.IDP_REFUSED:
        return UserFacingError(
            "Your identity provider did not sign you in",
            f"It answered: {idp_said}. Try again, or ask your IT team for access to this "
            "application.",
            detail=detail,
            status=403,
        )
    if reason is Reason.MISSING_ATTRIBUTES:
        return UserFacingError(
            "Your identity provider did not send everything we need",
            f"Missing: {', '.join(missing)}. Ask your IT team to add it to the attributes "
            f"sent to this application (we look for: {hint}).",
            detail=detail,
            status=403,
        )
    return _page(_PAGES.get(reason, _INVALID_ANSWER), detail)


def _page(page: _Page, detail: str) -> UserFacingError:
    title, text, status = page
    return UserFacingError(title, text, detail=detail, status=status)


def upstream_refusal(exc: UpstreamError) -> UserFacingError:
    """The page for a connector's refusal."""
    if isinstance(exc, UpstreamRejected):
        return refusal_page(exc.reason, detail=str(exc), idp_said=exc.idp_code)
    if isinstance(exc, UpstreamIncomplete):
        return refusal_page(exc.reason, detail=str(exc), missing=exc.missing, hint=exc.looked_for)
    if isinstance(exc, UpstreamUnavailable):
        return _page(_UNREACHABLE, str(exc))
    if isinstance(exc, UpstreamPolicyRefusal):
        return refusal_page(exc.reason, detail=str(exc))
    assert isinstance(exc, UpstreamInvalid)
    if exc.reason in MISCONFIGURED:
        return _page(_MISCONFIGURED_PAGE, str(exc))
    if exc.reason in (Reason.EXPIRED, Reason.STALE_AUTHENTICATION):
        return _page(_TOO_OLD, str(exc))
    if exc.reason is Reason.UNSOLICITED:
        return refusal_page(exc.reason, detail=str(exc))
    return _page(_INVALID_ANSWER, str(exc))
