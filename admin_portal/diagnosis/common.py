"""Diagnoses both protocols share: what the IdP left out, the organization's domain rule,
and the test's own refusals; and the passed result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from admin_portal.diagnosis.case import Case
from admin_portal.diagnosis.model import Diagnosis, FixStep, Row
from admin_portal.diagnosis.vendors import product_name
from broker.model.reasons import Reason

CLAIM_LABELS: Mapping[str, str] = {
    "email": "Email",
    "given_name": "First name",
    "family_name": "Last name",
    "name": "Display name",
    "groups": "Groups",
    "subject": "User identifier",
}
_TEST_AGAIN = FixStep("Save the change there, then run the test again.")


def required_names(report: Mapping[str, Any]) -> dict[str, list[str]]:
    """claim -> the IdP names looked for, as the test recorded them."""
    found: dict[str, list[str]] = {}
    for entry in report.get("required") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("claim"), str):
            names = entry.get("names")
            found[entry["claim"]] = [str(n) for n in names] if isinstance(names, list) else []
    return found


def missing_attributes(case: Case) -> Diagnosis:
    missing = [str(m) for m in case.report.get("missing") or ()]
    names = required_names(case.report)
    saml = case.protocol == "saml"
    thing = "attribute" if saml else "claim"
    rows = [
        Row(
            f"{CLAIM_LABELS.get(claim, claim)} {thing}",
            "one of: " + (", ".join(names.get(claim, [])) or claim),
            "not sent",
        )
        for claim in missing
    ]
    received = case.fact("received_attributes" if saml else "received_claims")
    rows.append(Row(f"{thing.capitalize()}s sent", "", received))
    if case.facts.get("groups_overage") == "yes" and "groups" in missing:
        return case.diagnosis(
            "Entra ID sent a groups overage marker instead of the groups",
            "The user is in more groups than fit in a token, so Entra ID sent a link to "
            "look them up instead of the groups themselves. Gatehouse needs the groups in "
            "the token.",
            rows=tuple(rows),
            fix=(
                FixStep(
                    "In the app registration's **Token configuration**, edit the groups "
                    "claim and choose **Groups assigned to the application**; then assign "
                    "the groups the application needs."
                ),
                _TEST_AGAIN,
            ),
        )
    steps = [case.step("attributes" if saml else "claims")]
    for claim in missing:
        first = (names.get(claim) or [claim])[0]
        steps.append(FixStep(f"{CLAIM_LABELS.get(claim, claim)}: send it as", first))
    steps.append(_TEST_AGAIN)
    labels = ", ".join(CLAIM_LABELS.get(c, c).lower() for c in missing) or "a required value"
    return case.diagnosis(
        f"Required {thing}s are missing: {labels}",
        f"Your identity provider signed the user in, but did not send every {thing} this "
        f"connection requires. Gatehouse looked for each under the names listed below.",
        rows=tuple(rows),
        fix=tuple(steps),
    )


def email_domain_not_verified(case: Case) -> Diagnosis:
    domain = case.report.get("email_domain") or {}
    actual = domain.get("domain") or "(no email address)"
    verified = ", ".join(domain.get("verified_domains") or ()) or "(none yet)"
    email = (case.report.get("identity") or {}).get("email") or "(none)"
    return case.diagnosis(
        "The email address is outside your verified domains",
        f"Your identity provider signed in {email}. Gatehouse lets in only addresses in the "
        "domains your organization has verified, so that no identity provider can sign in "
        "someone else's people; a real login with this address would be refused.",
        rows=(Row("Email domain", f"one of: {verified}", actual), Row("Email", "", email)),
        fix=(
            FixStep(
                "Test with a user whose address is in a verified domain; or, if this domain "
                "is your organization's, verify it in the domains step first."
            ),
            FixStep(
                "If the address is not the user's work address, check which attribute your "
                "identity provider sends as the email."
            ),
        ),
    )


def hosted_domain_not_verified(case: Case) -> Diagnosis:
    domain = case.report.get("email_domain") or {}
    verified = ", ".join(domain.get("verified_domains") or ()) or "(none yet)"
    return case.diagnosis(
        "The Google Workspace domain is not one of your verified domains",
        "Google says the account belongs to a Workspace domain (hd) your organization has "
        "not verified; a real login would be refused.",
        rows=(
            Row(
                "Workspace domain (hd)",
                f"one of: {verified}",
                str(case.report.get("hosted_domain") or "(none)"),
            ),
        ),
        fix=(FixStep("Verify the Workspace's primary domain in the domains step, or test "
                     "with an account of your own Workspace."),),
    )  # fmt: skip


def settings_changed(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The settings changed while the test was running",
        "Someone saved other settings for this connection between the start of the test "
        "and the identity provider's answer, so the answer no longer tests what is stored.",
        fix=(FixStep("Run the test again."),),
    )


def no_request(case: Case) -> Diagnosis:
    return case.diagnosis(
        "This answer matches no test login",
        "Gatehouse has no request of its own for this answer.",
        fix=(FixStep("Start a new test from this portal."),),
    )


def overloaded(case: Case) -> Diagnosis:
    """Gatehouse refused the test itself, to protect itself from an IdP that is slow or
    failing (broker/upstream/bulkhead.py): nothing about the settings is known yet."""
    circuit = case.reason is Reason.IDP_CIRCUIT_OPEN
    return case.diagnosis(
        "Your identity provider has been failing"
        if circuit
        else "Your identity provider is answering too slowly",
        "Its recent requests failed several times in a row, so Gatehouse stops waiting on it "
        "for a while and tries again later."
        if circuit
        else "Too many requests to it were already waiting, so Gatehouse refused this one at "
        "once rather than wait too.",
        rows=(Row("Last problem", "", case.fact("problem")),) if circuit else (),
        fix=(
            FixStep("Wait a minute, then run the test again."),
            FixStep(
                "If it keeps happening, check that your identity provider is up and reachable "
                "from the internet."
            ),
        ),
    )


def unknown(case: Case) -> Diagnosis:
    detail = str(case.report.get("detail") or "")
    return case.diagnosis(
        f"The login failed a check ({case.code})",
        "Gatehouse refused your identity provider's answer."
        + (f" It noted: {detail}." if detail else ""),
        rows=tuple(Row(name, "", value) for name, value in sorted(case.facts.items())),
        fix=(case.step("logs"),),
    )


def passed(
    report: Mapping[str, Any], *, strategy: str | None, notes: Sequence[str] = ()
) -> Diagnosis:
    email = (report.get("identity") or {}).get("email")
    who = f"signed {email} in" if email else "signed the user in"
    found = list(notes)
    domain = report.get("email_domain") or {}
    status = domain.get("status")
    name = domain.get("domain")
    if status in ("claimed", "not_claimed") and name:
        found.append(
            f"Before you turn single sign-on on, verify {name} in the domains step: only "
            "addresses in verified domains can sign in."
        )
    if report.get("use_draft"):
        found.append("This tested your changes, not yet the settings in use.")
    return Diagnosis(
        passed=True,
        code="passed",
        title="The test login worked",
        explanation=f"Your identity provider {who}, and Gatehouse verified its answer with "
        "every check a real login makes. Nothing was sent to the application.",
        notes=tuple(found),
        product=product_name(strategy),
    )


COMMON_DIAGNOSES: Mapping[Reason, Callable[[Case], Diagnosis]] = {
    Reason.MISSING_ATTRIBUTES: missing_attributes,
    Reason.EMAIL_DOMAIN_NOT_VERIFIED: email_domain_not_verified,
    Reason.HOSTED_DOMAIN_NOT_VERIFIED: hosted_domain_not_verified,
    Reason.SETTINGS_CHANGED: settings_changed,
    Reason.NO_REQUEST: no_request,
    Reason.IDP_BUSY: overloaded,
    Reason.IDP_CIRCUIT_OPEN: overloaded,
}
