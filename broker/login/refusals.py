"""What a person is told when a login is refused, by reason.

The audit log keeps the precise machine reason (`signature_invalid`, `wrong_audience`...);
the person gets a page they can act on. Verification failures share one page: telling an
attacker which check failed helps them, and telling an employee does not (X-03).
"""

from __future__ import annotations

from collections.abc import Sequence

from broker.errors import UserFacingError

_START_AGAIN = "Go back to the application and start again."
_ASK_IT = "If it keeps happening, give your IT team the reference below."

_PAGES: dict[str, tuple[str, str, int]] = {
    "flow_expired": (
        "This sign-in has expired",
        "Sign-in links last a few minutes and work once. " + _START_AGAIN,
        400,
    ),
    "browser_mismatch": (
        "This sign-in was started in another browser",
        "For your safety a sign-in must finish in the browser that started it. " + _START_AGAIN,
        400,
    ),
    "unknown_connection": (
        "This sign-in answer arrived at the wrong place",
        "The single sign-on connection it was sent to does not exist. " + _ASK_IT,
        404,
    ),
    "wrong_connection": (
        "This sign-in answer arrived at the wrong place",
        "Your identity provider answered for a different connection. " + _START_AGAIN,
        400,
    ),
    "invalid_answer": (
        "We could not verify your sign-in",
        "Your identity provider's answer failed a security check. Try again. " + _ASK_IT,
        400,
    ),
    "unsolicited": (
        "Start signing in from the application",
        "Your identity provider sent a sign-in that this application did not ask for (an "
        "IdP-initiated login, for example from a dashboard tile). That is not enabled here, "
        "for your protection. Open the application and choose single sign-on there.",
        400,
    ),
    "email_domain_not_verified": (
        "Your email address cannot be used here",
        "Your identity provider signed you in with an address outside the domains your "
        "organization has verified. Ask your IT team to check the email attribute sent to "
        "this application.",
        403,
    ),
}


class LoginRefused(Exception):
    """A policy or binding refusal inside the login service; `reason` goes to the audit
    log, `page` to the person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.page = refusal_page(reason, detail=detail)


def refusal_page(
    reason: str,
    *,
    detail: str,
    idp_said: str | None = None,
    missing: Sequence[str] = (),
    hint: str = "",
) -> UserFacingError:
    if reason == "idp_refused":
        return UserFacingError(
            "Your identity provider did not sign you in",
            f"It answered: {idp_said}. Try again, or ask your IT team for access to this "
            "application.",
            detail=detail,
            status=403,
        )
    if reason == "missing_attributes":
        return UserFacingError(
            "Your identity provider did not send everything we need",
            f"Missing: {', '.join(missing)}. Ask your IT team to add it to the attributes "
            f"sent to this application (we look for: {hint}).",
            detail=detail,
            status=403,
        )
    title, text, status = _PAGES.get(reason, _PAGES["invalid_answer"])
    return UserFacingError(title, text, detail=detail, status=status)
