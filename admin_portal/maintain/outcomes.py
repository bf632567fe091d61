"""Recent sign-ins through a connection, as its IT admin reads them: when, whether it
worked, and why not in plain words.

Read from the audit log through the management `Events` use case (the same records the
app team's events API returns), filtered to the one connection and to `login.*`. Only the
time, the outcome and the reason are shown: no user id, no email, no reference detail, so
the page tells the admin nothing about people that the app team's API would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broker.management import Management
from broker.management.events import EventFilter

RECENT = 10

_SIGNATURE = (
    "The identity provider's signature did not match a certificate this connection trusts. "
    "If it started signing with a new certificate, add that certificate here."
)
_CLOCK = "The times in the identity provider's answer were outside the allowed window: "
#: Machine reason -> what an IT admin can act on. Unlisted reasons fall back to a generic
#: sentence with the code, which the app team can look up.
REASONS = {
    "signature_invalid": _SIGNATURE,
    "unknown_key": _SIGNATURE,
    "unsigned": "The identity provider's answer was not signed. Turn on signing of the "
    "response or the assertion.",
    "assertion_unsigned": "The assertion was not signed. Turn on assertion signing at the "
    "identity provider.",
    "expired": _CLOCK + "it had expired (check the identity provider's clock).",
    "not_yet_valid": _CLOCK + "it was not valid yet (check the identity provider's clock).",
    "issued_in_future": _CLOCK + "it was issued in the future (check the clock).",
    "wrong_audience": "The answer was meant for another application: check the audience "
    "(SP entity ID) at the identity provider.",
    "missing_audience": "The answer named no audience: set the SP entity ID at the "
    "identity provider.",
    "wrong_destination": "The answer was sent for another address: check the ACS URL at "
    "the identity provider.",
    "wrong_issuer": "The answer came from another identity provider than the one "
    "configured (issuer or entity ID differs).",
    "wrong_tenant": "The answer came from another Microsoft tenant than the one configured.",
    "missing_attributes": "The identity provider did not send an attribute this "
    "application needs (usually the email address).",
    "missing_nameid": "The identity provider sent no user identifier (NameID).",
    "email_domain_not_verified": "The person's email address is outside your verified domains.",
    "hosted_domain_not_verified": "The account belongs to a Google Workspace domain you "
    "have not verified.",
    "email_not_verified": "The identity provider says the person's email address is not verified.",
    "consumer_account": "The person signed in with a personal account, not a work account.",
    "flow_expired": "The sign-in took too long or was finished twice (nothing to fix).",
    "browser_mismatch": "The sign-in finished in another browser than it started in.",
    "answer_already_used": "The same answer arrived twice (a reload; nothing to fix).",
    "cbc_not_enabled": "The assertion was encrypted with AES-CBC, which this connection does "
    "not accept: set the identity provider's encryption algorithm to AES-GCM.",
    "replayed": "An answer that had been used before was sent again, and refused.",
    "unsolicited": "The sign-in started at the identity provider (a dashboard tile), "
    "which is not enabled: people start from the application.",
    "idp_unreachable": "Gatehouse could not reach the identity provider.",
    "connection_inactive": "The connection was turned off while the person was signing in.",
    "idp_busy": "Too many sign-ins were already waiting on the identity provider, which "
    "was answering slowly; this one was refused at once.",
    "idp_circuit_open": "The identity provider had failed several times in a row, so "
    "Gatehouse refused this sign-in at once instead of waiting on it.",
    "discovery_unavailable": "Gatehouse could not read the identity provider's discovery document.",
    "jwks_unavailable": "Gatehouse could not read the identity provider's signing keys.",
    "userinfo_unavailable": "Gatehouse could not reach the identity provider's userinfo endpoint.",
    "token_endpoint_unavailable": "Gatehouse could not reach the identity provider's "
    "token endpoint.",
    "encryption_required": "The assertion was not encrypted, and this connection requires it.",
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
    if reason.startswith("idp_refused:"):
        said = reason.removeprefix("idp_refused:")
        return f"The identity provider refused the sign-in ({said})."
    return REASONS.get(reason, f"The identity provider's answer failed a check ({reason}).")
