"""The two pages the login shows before the IdP: the work email page and the chooser. Each
form carries the flow id and the token its browser's binding cookie gives (`binding.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from broker.http import Page
from broker.model.connection_labels import connection_label
from broker.model.reasons import Reason
from broker.model.records import Connection, PendingAuthorization

_NO_ROUTE_MESSAGES: Mapping[Reason, str] = {
    Reason.UNKNOWN_DOMAIN: "There is no single sign-on set up for {domain}.",
    Reason.NO_ACTIVE_CONNECTION: "Your organization's single sign-on is not active yet.",
    Reason.INVALID_EMAIL: "That does not look like an email address.",
}


def email_page(
    flow: PendingAuthorization, form_token: str, *, error: str | None = None, email: str = ""
) -> Page:
    return Page(
        template="login_email.html",
        context={"flow_id": flow.id, "form_token": form_token, "error": error, "email": email},
        status=200 if error is None else 400,
    )


def chooser_page(
    flow: PendingAuthorization, form_token: str, *, email: str, connections: Sequence[Connection]
) -> Page:
    return Page(
        template="choose_connection.html",
        context={
            "flow_id": flow.id,
            "form_token": form_token,
            "email": email,
            "connections": connections,
            # Each button names the IdP ("Okta (SAML)"), not a protocol's generic name.
            "labels": {c.id: connection_label(c) for c in connections},
        },
    )


def no_route_message(reason: Reason, domain: str) -> str:
    """Why an email does not route, in words (the email page shows it beside the field)."""
    return _NO_ROUTE_MESSAGES.get(reason, "We cannot sign you in here.").format(domain=domain)
