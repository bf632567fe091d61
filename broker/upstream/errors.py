"""What a connector raises when a login cannot finish, by whose fault: the IdP said no, its
answer failed verification, it could not be reached, the account fails a rule, or the IdP left
out what the connection requires. The login turns each into an audit reason and a page."""

from __future__ import annotations

from collections.abc import Mapping

from broker.model.records import Evidence


class UpstreamError(Exception):
    """Base: the login cannot finish. Subclasses say whether the reason may be shown.

    `facts` are what a diagnosis needs, as strings (`expected_audience`, `actual_audience`,
    `clock_offset_seconds`...): shown to the IT admin on a portal test login, never to a
    person logging in (X-03). They are built only when refusing, so the login path pays
    nothing for them, and never hold a secret (client secret, nonce, private key).

    `evidence`, set only when the refusal comes *after* the answer's signature verified,
    returns what the IdP sent, decoded (the assertion XML, the ID token's claims), for the
    same test report; it is called only there (see `broker.model.records.Evidence`)."""

    def __init__(
        self, reason: str, *, detail: str = "", facts: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.facts: Mapping[str, str] = dict(facts or {})
        self.evidence: Evidence | None = None


class UpstreamRejected(UpstreamError):
    """The IdP said no (denied, user not assigned...). `reason` is safe to show a person."""


class UpstreamInvalid(UpstreamError):
    """The answer failed verification (signature, audience, replay...). `reason` is a stable
    machine code for logs and audit; the person sees a generic page."""


class UpstreamUnavailable(UpstreamError):
    """The IdP could not be reached or answered with a server error (discovery, JWKS, token
    endpoint). Nothing about the person is known; trying again later may work."""


class UpstreamPolicyRefusal(UpstreamError):
    """The answer is authentic, but the account fails a rule (the IdP says the email is not
    verified; a consumer account where a Workspace one is required). `reason` picks a page
    that tells the person what to do."""


class UpstreamIncomplete(UpstreamError):
    """The IdP signed the person in but left out what the connection requires (an email
    attribute, say). `missing` names it, for a page the person can forward to their IT team."""

    def __init__(
        self,
        missing: tuple[str, ...],
        *,
        looked_for: str = "",
        facts: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            "missing_attributes", detail=f"{', '.join(missing)} ({looked_for})", facts=facts
        )
        self.missing = missing
        self.looked_for = looked_for
