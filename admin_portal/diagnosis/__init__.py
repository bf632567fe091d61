"""From a test login's result to a diagnosis a person can act on.

    diagnose(test, protocol=, strategy=, values=)  -> Diagnosis (title, explanation,
                                                      expected-vs-actual rows, the fix)
    attribute_checks(test), profile(test), evidence(test)  -> the rest of the page

Pure functions of the stored `ConnectionTest` (its reason and the facts the connector
recorded when it refused: broker/login/trial_report.py) and of the connection's product
(`strategy`), which picks the vendor's wording (vendors.py); Gatehouse's own values
(`values`: the ACS URL, SP entity ID, redirect URI) fill the fixes that say what to paste.

    model.py    the values    case.py  one failure, shared rows    text.py   wording helpers
    saml.py     SAML reasons  oidc.py  OIDC reasons                common.py both, and passed
    vendors.py  each console's own labels                          views.py  the rest of the page
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from admin_portal.diagnosis.case import Case
from admin_portal.diagnosis.common import COMMON_DIAGNOSES, passed, unknown
from admin_portal.diagnosis.model import AttributeCheck, Diagnosis, Evidence, FixStep, Row
from admin_portal.diagnosis.oidc import OIDC_DIAGNOSES
from admin_portal.diagnosis.saml import SAML_DIAGNOSES
from admin_portal.diagnosis.views import attribute_checks, evidence, profile
from broker.model.portal import ConnectionTest
from broker.model.reasons import Reason, parse_reason


def diagnose(
    test: ConnectionTest,
    *,
    protocol: str,
    strategy: str | None,
    values: Mapping[str, str] | None = None,
) -> Diagnosis:
    """`protocol` and `strategy` are the connection's; the report's own (what was tested)
    win when it has them."""
    report = test.report
    protocol = str(report.get("protocol") or protocol)
    if isinstance(report.get("strategy"), str):
        strategy = report["strategy"]
    if test.passed:
        return passed(report, strategy=strategy)
    facts = report.get("facts")
    case = Case(
        code=test.reason or "unknown",
        reason=parse_reason(test.reason),
        protocol=protocol,
        strategy=strategy,
        facts={str(k): str(v) for k, v in facts.items()} if isinstance(facts, Mapping) else {},
        report=report,
        values=dict(values or {}),
    )
    if case.reason is None:
        return unknown(case)
    return _diagnoses(protocol).get(case.reason, unknown)(case)


def known_reasons(protocol: str) -> frozenset[Reason]:
    """Every reason with a diagnosis of its own (the rest get the generic one)."""
    return frozenset(_diagnoses(protocol))


def _diagnoses(protocol: str) -> Mapping[Reason, Callable[[Case], Diagnosis]]:
    """The diagnoses both protocols share, and the protocol's own (a SAML `expired` is not
    an OIDC one)."""
    table = SAML_DIAGNOSES if protocol == "saml" else OIDC_DIAGNOSES
    return {**table, **COMMON_DIAGNOSES}


__all__ = [
    "AttributeCheck",
    "Diagnosis",
    "Evidence",
    "FixStep",
    "Row",
    "attribute_checks",
    "diagnose",
    "evidence",
    "known_reasons",
    "profile",
]
