"""What a portal test login records for the IT admin: the report behind the result page.

    passed_report(identity, tested, domains)  -> (refusal reason or None, report)
    failed_report(error, tested)              -> report

The report is JSON stored with the `ConnectionTest`, read only by a session of the same
organization (it holds the IdP's decoded answer: X-03). It says what was expected (the
required claims and the IdP names looked for), what the IdP sent (the mapped identity, the
decoded assertion or ID token claims, once their signature verified), and, for a failure, the
connector's facts. Everything in it is capped, so a large answer cannot bloat the database.

A test applies the login service's own domain rule as far as it can before the domains are
verified: once the organization has verified domains, an email (or Google `hd`) outside them
fails the test exactly as it would fail a login; before that, the report only says which
domain will need verifying, so the setup steps may come in either order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from broker.errors import ConfigError
from broker.model.names import email_domain
from broker.model.reasons import Reason
from broker.model.records import Connection, Domain, Evidence, UpstreamIdentity
from broker.upstream.base import UpstreamError, UpstreamIncomplete
from broker.upstream.config_fields import ConfigReader
from broker.upstream.oidc.vendors import VENDORS
from broker.upstream.saml.attributes import PROFILES

log = logging.getLogger(__name__)

#: One stored piece of the IdP's answer (the assertion XML, a claims object) at most.
MAX_PIECE_CHARS = 64 * 1024
MAX_DETAIL_CHARS = 2000


def passed_report(
    identity: UpstreamIdentity, tested: Connection, domains: Sequence[Domain]
) -> tuple[Reason | None, dict[str, Any]]:
    """The report of an answer that verified; a reason when the domain rule refuses it."""
    report = _expected(tested)
    report["identity"] = {
        "subject": identity.subject,
        "email": identity.email,
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "name": identity.name,
        "groups": list(identity.groups),
    }
    report["attributes"] = _capped(dict(identity.raw_attributes))
    _add_evidence(report, identity.evidence)
    verified = sorted(d.name for d in domains if d.is_verified)
    claimed = sorted(d.name for d in domains)
    domain = email_domain(identity.email or "")
    report["email_domain"] = {
        "domain": domain,
        "verified_domains": verified,
        "status": _domain_status(domain, verified, claimed),
    }
    reason: Reason | None = None
    if verified and (domain is None or domain not in verified):
        reason = Reason.EMAIL_DOMAIN_NOT_VERIFIED
    if identity.hosted_domain is not None:
        report["hosted_domain"] = identity.hosted_domain
        if verified and identity.hosted_domain not in verified and reason is None:
            reason = Reason.HOSTED_DOMAIN_NOT_VERIFIED
    return reason, report


def failed_report(error: UpstreamError, tested: Connection | None) -> dict[str, Any]:
    report = _expected(tested) if tested is not None else {}
    report["detail"] = error.detail[:MAX_DETAIL_CHARS]
    report["facts"] = {k: str(v)[:MAX_DETAIL_CHARS] for k, v in error.facts.items()}
    if isinstance(error, UpstreamIncomplete):
        report["missing"] = list(error.missing)
        report["looked_for"] = error.looked_for[:MAX_DETAIL_CHARS]
    _add_evidence(report, error.evidence)
    return report


def _domain_status(domain: str | None, verified: list[str], claimed: list[str]) -> str:
    if domain is None:
        return "no_email"
    if domain in verified:
        return "verified"
    if verified:
        return "outside"
    return "claimed" if domain in claimed else "not_claimed"


def _expected(tested: Connection) -> dict[str, Any]:
    """The required claims and, for each, the IdP attribute or claim names looked for (the
    vendor's defaults, then the connection's own mapping), as the test saw them."""
    reader = ConfigReader(tested.config)
    try:
        required = list(reader.required_claims())
        overrides = reader.claim_mapping()
    except ConfigError:
        required, overrides = ["email"], {}
    if tested.kind == "saml":
        profile = str(tested.config.get("attribute_profile", "generic"))
        defaults: Mapping[str, tuple[str, ...]] = PROFILES.get(profile, PROFILES["generic"])
    else:
        vendor = VENDORS.get(str(tested.config.get("vendor", "generic")), VENDORS["generic"])
        defaults = vendor.claim_names
    names = {**defaults, **overrides}
    strategy = tested.config.get("strategy")
    return {
        "protocol": tested.kind,
        "strategy": strategy if isinstance(strategy, str) else None,
        "required": [{"claim": c, "names": list(names.get(c, ()))} for c in required],
    }


def _add_evidence(report: dict[str, Any], evidence: Evidence | None) -> None:
    if evidence is None:
        return
    try:
        shown = evidence()
    except Exception:
        # A report without the decoded answer beats no report at all.
        log.exception("test report: the IdP's answer could not be decoded for display")
        return
    report["evidence"] = {name: _capped(value) for name, value in shown.items()}


def _capped(value: Any) -> Any:
    """`value` if its JSON fits MAX_PIECE_CHARS; else its JSON text, cut, marked so."""
    if isinstance(value, str):
        return value[:MAX_PIECE_CHARS]
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) <= MAX_PIECE_CHARS:
        return json.loads(text)
    return {"truncated": True, "json": text[:MAX_PIECE_CHARS]}
