"""One failed test as the diagnoses read it: its reason, its facts, and the vendor to word
the fix for; plus the expected-vs-actual rows several diagnoses share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from admin_portal.diagnosis.model import Diagnosis, FixStep, Row
from admin_portal.diagnosis.text import duration, signed_seconds
from admin_portal.diagnosis.vendors import fix_text, product_name
from broker.model.reasons import Reason
from broker.model.vendors import product

UNKNOWN = "(not reported)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    #: The reason as stored (`wrong_audience`, `idp_refused:Responder`...), shown as is.
    code: str
    #: Its member; None for a reason this release does not give (the generic diagnosis).
    reason: Reason | None
    protocol: str  # "saml" | "oidc"
    strategy: str | None
    facts: Mapping[str, str]
    report: Mapping[str, Any]
    #: Gatehouse's own values for this connection (acs_url, sp_entity_id, redirect_uri,
    #: issuer, client_id), for fixes that say what to paste.
    values: Mapping[str, str]

    def fact(self, name: str, default: str = UNKNOWN) -> str:
        value = self.facts.get(name)
        return str(value) if value not in (None, "") else default

    def number(self, name: str) -> int | None:
        try:
            return int(str(self.facts.get(name)))
        except ValueError:
            return None

    @property
    def product(self) -> str | None:
        return product_name(self.strategy)

    @property
    def self_hosted(self) -> bool:
        found = product(self.strategy)
        return found is not None and found.self_hosted

    def step(self, topic: str, value: str | None = None) -> FixStep:
        """The vendor's sentence for `topic` (generic wording without one)."""
        return FixStep(fix_text(self.strategy, self.protocol, topic), value)

    def diagnosis(
        self,
        title: str,
        explanation: str,
        *,
        rows: tuple[Row, ...] = (),
        fix: tuple[FixStep, ...] = (),
        idp_said: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Diagnosis:
        return Diagnosis(
            passed=False,
            code=self.code,
            title=title,
            explanation=explanation,
            rows=rows,
            fix=fix,
            idp_said=idp_said,
            notes=notes,
            product=self.product,
        )


# -- rows several diagnoses share ---------------------------------------------------------


def audience_row(case: Case, label: str = "Audience (SP entity ID)") -> Row:
    return Row(label, case.fact("expected_audience"), case.fact("actual_audience"))


def issuer_row(case: Case, label: str = "Issuer") -> Row:
    return Row(label, case.fact("expected_issuer"), case.fact("actual_issuer"))


def clock_rows(case: Case) -> tuple[Row, ...]:
    """The refused instant beside our clock, and the clock difference in seconds."""
    skew = case.fact("allowed_skew_seconds", "?")
    field = case.fact("time_field", "time")
    rows = []
    offset = case.number("clock_offset_seconds")
    now = f"{case.fact('our_time')}, Gatehouse's clock then (± {skew} s)"
    expected = (
        f"before {now}"
        if case.reason in (Reason.NOT_YET_VALID, Reason.ISSUED_IN_FUTURE)
        else f"after {now}"
    )
    rows.append(Row(f"The IdP's {field}", expected, case.fact("idp_time")))
    if offset is not None:
        # The refused instant's distance from our clock (not the IdP's clock error, which
        # the IssueInstant row and the explanation estimate).
        rows.append(
            Row("Its distance from Gatehouse's clock", f"within ± {skew} s",
                signed_seconds(offset))
        )  # fmt: skip
    issued = case.number("issue_instant_offset_seconds")
    if issued is not None and "IssueInstant" not in field and "iat" not in field.split():
        rows.append(
            Row(
                "When the IdP issued it (IssueInstant / iat)",
                f"about {case.fact('our_time')}",
                f"{case.fact('issue_instant')}, {signed_seconds(issued)}",
            )
        )
    return tuple(rows)


def clock_explanation(case: Case, *, late: bool) -> str:
    """Why the times disagree, in words: a wrong clock, or an answer that took too long."""
    issued = case.number("issue_instant_offset_seconds")
    offset = case.number("clock_offset_seconds")
    skew = case.number("allowed_skew_seconds") or 0
    gap = issued if issued is not None else offset
    if late:
        what = "had already expired when it reached Gatehouse"
    else:
        what = "is not valid yet by Gatehouse's clock"
    text = f"The IdP's answer {what} (Gatehouse allows {skew} seconds of clock difference)."
    if gap is not None and abs(gap) > skew:
        side = "behind" if gap < 0 else "ahead of"
        text += (
            f" By its own timestamps the IdP is {duration(gap)} {side} Gatehouse's clock: "
            "either its server clock is wrong, or the answer was held back that long "
            "(a browser tab left open, or an answer used again)."
        )
    return text


def clock_diagnosis(case: Case, title: str, *, late: bool) -> Diagnosis:
    """A time refusal (expired, or not valid yet), whichever protocol's answer it was."""
    return case.diagnosis(
        title,
        clock_explanation(case, late=late),
        rows=clock_rows(case),
        fix=clock_fix(case),
    )


def clock_fix(case: Case) -> tuple[FixStep, ...]:
    """A self-hosted IdP's clock is the customer's to fix; a cloud IdP's clock is kept
    right, so then the delay (or Gatehouse's own clock) is the suspect."""
    steps = [
        FixStep(
            "Start a new test and finish the login right away, without leaving the tab "
            "open: an answer that waited is refused this way too."
        )
    ]
    if case.self_hosted or case.product is None:
        steps.append(case.step("clock"))
    else:
        steps.append(
            FixStep(
                f"If the difference stays, {case.product}'s clock is not the suspect: tell "
                "the person who sent you this link, with the reference below, so they can "
                "check Gatehouse's own clock."
            )
        )
    return tuple(steps)
