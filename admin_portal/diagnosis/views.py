"""The rest of the result page, read from the test's report: a tick or cross per required
attribute, the mapped profile, and what the IdP sent (decoded) as text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from admin_portal.diagnosis.common import CLAIM_LABELS, required_names
from admin_portal.diagnosis.model import AttributeCheck, AttributeStatus, Evidence
from broker.model.portal import ConnectionTest
from broker.model.reasons import Reason, parse_reason

#: Reasons given after the attributes were read: the profile was mapped, so every required
#: attribute was found (a missing one is `missing_attributes`).
_MAPPED = frozenset({Reason.EMAIL_DOMAIN_NOT_VERIFIED, Reason.HOSTED_DOMAIN_NOT_VERIFIED})


def attribute_checks(test: ConnectionTest) -> tuple[AttributeCheck, ...]:
    report = test.report
    identity = report.get("identity") or {}
    missing = {str(m) for m in report.get("missing") or ()}
    reason = parse_reason(test.reason)
    checks = []
    for claim, names in required_names(report).items():
        status: AttributeStatus
        value = None
        if test.passed or reason in _MAPPED:
            present = identity.get(claim)
            status = "present" if present else "missing"
            value = ", ".join(present) if isinstance(present, list) else present
        elif reason is Reason.MISSING_ATTRIBUTES:
            status = "missing" if claim in missing else "present"
        else:
            status = "unchecked"
        checks.append(
            AttributeCheck(
                claim=claim,
                label=CLAIM_LABELS.get(claim, claim),
                names=tuple(names),
                status=status,
                value=str(value) if value else None,
            )
        )
    return tuple(checks)


def profile(test: ConnectionTest) -> tuple[tuple[str, str], ...]:
    """The mapped identity as (label, value) pairs, when the answer got that far."""
    identity = test.report.get("identity")
    if not isinstance(identity, Mapping):
        return ()
    rows = [("User identifier (subject)", identity.get("subject"))]
    rows += [(CLAIM_LABELS[c], identity.get(c)) for c in ("email", "given_name", "family_name")]
    rows += [("Display name", identity.get("name")), ("Groups", identity.get("groups"))]
    shown = []
    for label, value in rows:
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append((label, str(value) if value else "(not sent)"))
    return tuple(shown)


def evidence(test: ConnectionTest) -> Evidence:
    found = test.report.get("evidence")
    if not isinstance(found, Mapping):
        return Evidence()
    token = found.get("id_token")
    header = claims = None
    if isinstance(token, Mapping) and token.get("truncated") is not True:
        header = _json(token.get("header"))
        claims = _json(token.get("claims"))
    elif token is not None:
        claims = _json(token)  # cut when stored: the JSON text as far as it was kept
    xml = found.get("saml_xml")
    return Evidence(
        saml_xml=xml if isinstance(xml, str) else None,
        saml_xml_truncated=bool(found.get("saml_xml_truncated")),
        id_token_header=header,
        id_token_claims=claims,
        userinfo=_json(found.get("userinfo")) if "userinfo" in found else None,
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and value.get("truncated") is True:
        return f"{value.get('json', '')}\n… (cut: the answer was too long to keep in full)"
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
