"""What a connector raises when a login cannot finish, by whose fault: the IdP said no, its
answer failed verification, it could not be reached, the account fails a rule, or the IdP left
out what the connection requires. The login turns each into an audit reason and a page.

Each carries a `Reason` (broker/model/reasons.py) and is raised where the check fails, with
the facts a diagnosis needs; nothing between the check and the login translates it."""

from __future__ import annotations

from collections.abc import Mapping

from broker.model.reasons import Reason, idp_refusal
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
        self, reason: Reason, *, detail: str = "", facts: Mapping[str, str] | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.facts: Mapping[str, str] = dict(facts or {})
        self.evidence: Evidence | None = None
        recorded = self.recorded_reason
        super().__init__(f"{recorded}: {detail}" if detail else recorded)

    @property
    def recorded_reason(self) -> str:
        """The reason as the audit event and the test result store it."""
        return self.reason.value


class UpstreamRejected(UpstreamError):
    """The IdP said no (denied, user not assigned...): `IDP_REFUSED`, with the IdP's own
    code in `idp_code` (an OAuth error, SAML status codes), which is safe to show a person."""

    def __init__(
        self, idp_code: str, *, detail: str = "", facts: Mapping[str, str] | None = None
    ) -> None:
        self.idp_code = idp_code
        super().__init__(Reason.IDP_REFUSED, detail=detail, facts=facts)

    @property
    def recorded_reason(self) -> str:
        return idp_refusal(self.idp_code)


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
            Reason.MISSING_ATTRIBUTES,
            detail=f"{', '.join(missing)} ({looked_for})",
            facts=facts,
        )
        self.missing = missing
        self.looked_for = looked_for
