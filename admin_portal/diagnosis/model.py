"""The values a diagnosis is made of: what the result page shows, nothing it must compute.

A `Diagnosis` is plain text: the template escapes every field (IdP values included: an
audience or a status message is the IdP's text, not ours), and only the fix steps' `**x**`
labels become bold, after escaping (`admin_portal.emphasis`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Row:
    """One expected-vs-actual comparison ("Audience": ours vs the IdP's)."""

    label: str
    expected: str
    actual: str


@dataclass(frozen=True, slots=True)
class FixStep:
    """One thing to do, in the vendor's words; `value` is what to paste (copy button)."""

    text: str
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    passed: bool
    #: The machine reason (`wrong_audience`, `idp_refused:Responder`...), "passed" if passed.
    code: str
    title: str
    explanation: str
    rows: tuple[Row, ...] = ()
    fix: tuple[FixStep, ...] = ()
    #: Things to know even when the test passed (a domain still to verify).
    notes: tuple[str, ...] = ()
    #: The IdP's own words about the refusal (a SAML StatusMessage, an OAuth
    #: error_description), shown as a quotation.
    idp_said: str | None = None
    #: The product the fix is worded for; None means generic wording.
    product: str | None = None


AttributeStatus = Literal["present", "missing", "unchecked"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeCheck:
    """A required claim: did the IdP send it, and under which names we looked."""

    claim: str
    label: str
    names: tuple[str, ...]
    status: AttributeStatus
    value: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """What the IdP sent, decoded, as text for the page (escaped there)."""

    saml_xml: str | None = None
    saml_xml_truncated: bool = False
    id_token_header: str | None = None
    id_token_claims: str | None = None
    userinfo: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.saml_xml or self.id_token_claims or self.userinfo)
