"""Recent sign-ins through a connection, as its IT admin reads them: when, whether it
worked, and why not in plain words.

Read from the audit log through the management `Events` use case (the same records the
app team's events API returns), filtered to the one connection and to `login.*`. Only the
time, the outcome and the reason are shown: no user id, no email, no reference detail, so
the page tells the admin nothing about people that the app team's API would not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from broker.management import Management
from broker.management.events import EventFilter
from broker.model.reasons import Reason, idp_code, parse_reason

RECENT = 10

_SIGNATURE = (
    "The identity provider's signature did not match a certificate this connection trusts. "
    "If it started signing with a new certificate, add that certificate here."
)
_CLOCK = "The times in the identity provider's answer were outside the allowed window: "
#: Machine reason -> what an IT admin can act on. Unlisted reasons fall back to a generic
#: sentence with the code, which the app team can look up.
REASONS: Mapping[Reason, str] = {
    Reason.SIGNATURE_INVALID: _SIGNATURE,
    Reason.UNKNOWN_KEY: _SIGNATURE,
    Reason.UNSIGNED: "The identity provider's answer was not signed. Turn on signing of the "
    "response or the assertion.",
    Reason.ASSERTION_UNSIGNED: "The assertion was not signed. Turn on assertion signing at the "
    "identity provider.",
    Reason.EXPIRED: _CLOCK + "it had expired (check the identity provider's clock).",
    Reason.NOT_YET_VALID: _CLOCK + "it was not valid yet (check the identity provider's clock).",
    Reason.ISSUED_IN_FUTURE: _CLOCK + "it was issued in the future (check the clock).",
    Reason.WRONG_AUDIENCE: "The answer was meant for another application: check the audience "
    "(SP entity ID) at the identity provider.",
    Reason.MISSING_AUDIENCE: "The answer named no audience: set the SP entity ID at the "
    "identity provider.",
    Reason.WRONG_DESTINATION: "The answer was sent for another address: check the ACS URL at "
    "the identity provider.",
    Reason.WRONG_ISSUER: "The answer came from another identity provider than the one "
    "configured (issuer or entity ID differs).",
    Reason.WRONG_TENANT: "The answer came from another Microsoft tenant than the one configured.",
    Reason.MISSING_ATTRIBUTES: "The identity provider did not send an attribute this "
    "application needs (usually the email address).",
    Reason.MISSING_NAMEID: "The identity provider sent no user identifier (NameID).",
    Reason.EMAIL_DOMAIN_NOT_VERIFIED: "The person's email address is outside your verified "
    "domains.",
    Reason.HOSTED_DOMAIN_NOT_VERIFIED: "The account belongs to a Google Workspace domain you "
    "have not verified.",
    Reason.EMAIL_NOT_VERIFIED: "The identity provider says the person's email address is not "
    "verified.",
    Reason.CONSUMER_ACCOUNT: "The person signed in with a personal account, not a work account.",
    Reason.FLOW_EXPIRED: "The sign-in took too long or was finished twice (nothing to fix).",
    Reason.BROWSER_MISMATCH: "The sign-in finished in another browser than it started in.",
    Reason.ANSWER_ALREADY_USED: "The same answer arrived twice (a reload; nothing to fix).",
    Reason.CBC_NOT_ENABLED: "The assertion was encrypted with AES-CBC, which this connection does "
    "not accept: set the identity provider's encryption algorithm to AES-GCM.",
    Reason.REPLAYED: "An answer that had been used before was sent again, and refused.",
    Reason.UNSOLICITED: "The sign-in started at the identity provider (a dashboard tile), "
    "which is not enabled: people start from the application.",
    Reason.CONNECTION_INACTIVE: "The connection was turned off while the person was signing in.",
    Reason.DIRECTORY_USER_INACTIVE: "Your directory (SCIM provisioning) lists the person as "
    "deactivated.",
    Reason.DIRECTORY_USER_UNKNOWN: "Your directory (SCIM provisioning) does not list the "
    "person: they were removed there, or never assigned to this application.",
    Reason.IDP_BUSY: "Too many sign-ins were already waiting on the identity provider, which "
    "was answering slowly; this one was refused at once.",
    Reason.IDP_CIRCUIT_OPEN: "The identity provider had failed several times in a row, so "
    "Gatehouse refused this sign-in at once instead of waiting on it.",
    Reason.DISCOVERY_UNAVAILABLE: "Gatehouse could not read the identity provider's discovery "
    "document.",
    Reason.JWKS_UNAVAILABLE: "Gatehouse could not read the identity provider's signing keys.",
    Reason.USERINFO_UNAVAILABLE: "Gatehouse could not reach the identity provider's userinfo "
    "endpoint.",
    Reason.TOKEN_ENDPOINT_UNAVAILABLE: "Gatehouse could not reach the identity provider's "
    "token endpoint.",
    Reason.ENCRYPTION_REQUIRED: "The assertion was not encrypted, and this connection requires it.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginOutcome:
    at: datetime
    succeeded: bool
    #: The machine reason of a failure (the app team's events API shows the same code).
    reason: str | None
    #: What it means, in words.
    explanation: str


def recent_logins(
    management: Management, organization_id: str, connection_id: str, *, limit: int = RECENT
) -> list[LoginOutcome]:
    where = EventFilter(organization_id=organization_id, connection_id=connection_id,
                        type="login.*")  # fmt: skip
    events = management.events.page(where, before=None, limit=limit)
    return [
        LoginOutcome(
            at=event.at,
            succeeded=event.kind == "login.succeeded",
            reason=event.reason,
            explanation=explain(event.kind, event.reason),
        )
        for event in events
    ]


def explain(kind: str, reason: str | None) -> str:
    if kind == "login.succeeded":
        return "The identity provider's answer passed every check."
    if reason is None:
        return "The sign-in did not finish."
    member = parse_reason(reason)
    if member is Reason.IDP_REFUSED:
        return f"The identity provider refused the sign-in ({idp_code(reason)})."
    found = REASONS.get(member) if member is not None else None
    return found or f"The identity provider's answer failed a check ({reason})."
