"""Was this authenticated response meant for this login, now? (The second phase; see
`validate.py` for the first and for why we do these checks rather than python3-saml.)

Addressing is compared exactly, time on the injected clock with the connection's skew, and
the request binding on signed data only (docs/security.md S-17, S-27..S-33).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from broker.model.reasons import Reason
from broker.upstream.errors import UpstreamInvalid
from broker.upstream.saml.config import NAMEID_TRANSIENT
from broker.upstream.saml.validate import (
    MAX_ASSERTION_AGE,
    Authenticated,
    Expectations,
    VerifiedAssertion,
)


def check_assertion(auth: Authenticated, expect: Expectations) -> VerifiedAssertion:
    response = auth.response
    document: etree._Element = response.document
    _check_destination(document, expect, response_signed=auth.response_signed)
    _check_in_response_to(response, expect, response_signed=auth.response_signed)
    _check_audience(response, expect)
    _check_conditions(auth, expect)
    _check_issue_instant(auth, expect)
    _check_subject_confirmation(auth, expect)
    authn_instant, session_index = _check_authn_statement(auth, expect)
    # S-23: python3-saml's is_valid refuses EncryptedAttribute, but get_attributes (which we
    # call instead) silently skips it: refuse rather than lose attributes unnoticed.
    if response._query_assertion("/saml:AttributeStatement/saml:EncryptedAttribute"):
        raise UpstreamInvalid(Reason.BAD_SUBJECT, detail="EncryptedAttribute is not supported")
    try:
        name_id_data = response.get_nameid_data()
        attributes: dict[str, list[Any]] = response.get_attributes()
    except Exception as exc:  # python3-saml's own errors (no NameID, a failed EncryptedID)
        raise UpstreamInvalid(Reason.BAD_SUBJECT, detail=str(exc)) from exc
    name_id = name_id_data.get("Value")
    if not name_id:
        raise UpstreamInvalid(Reason.MISSING_NAMEID, detail="the assertion names no subject")
    return VerifiedAssertion(
        assertion_id=auth.assertion_id,
        name_id=name_id,
        name_id_format=name_id_data.get("Format"),
        attributes={k: [v for v in vs if isinstance(v, str)] for k, vs in attributes.items()},
        authn_instant=authn_instant,
        session_index=session_index,
    )


def is_transient(assertion: VerifiedAssertion) -> bool:
    return assertion.name_id_format == NAMEID_TRANSIENT


# -- the individual checks --------------------------------------------------------------


def _same_url(a: str, b: str) -> bool:
    """Exact match, allowing only what URL syntax makes equivalent: scheme and host case and
    an explicit default port (S-27)."""

    def norm(url: str) -> tuple[str, ...]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
        if port is None or (scheme, port) in {("https", 443), ("http", 80)}:
            netloc = host
        else:
            netloc = f"{host}:{port}"
        return (urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment)),)

    try:
        return norm(a) == norm(b)
    except ValueError:
        return False


def _check_destination(
    document: etree._Element, expect: Expectations, *, response_signed: bool
) -> None:
    destination = document.get("Destination")
    if destination is None:
        if response_signed:
            # SAML Bindings §3.5.5.2: a signed POST message MUST carry Destination.
            raise UpstreamInvalid(
                Reason.WRONG_DESTINATION,
                detail="a signed response must name its Destination",
                facts={
                    "expected_destination": expect.acs_url,
                    "actual_destination": "(none)",
                    "destination_field": "Destination",
                },
            )
        return
    if not _same_url(destination, expect.acs_url):
        raise UpstreamInvalid(
            Reason.WRONG_DESTINATION,
            detail=f"Destination {destination!r}",
            facts={
                "expected_destination": expect.acs_url,
                "actual_destination": destination,
                "destination_field": "Destination",
            },
        )


def _check_in_response_to(
    response: OneLogin_Saml2_Response, expect: Expectations, *, response_signed: bool
) -> None:
    """S-33, S-34. The envelope's InResponseTo counts only when the envelope is signed; the
    assertion's own SubjectConfirmationData carries it under the assertion's signature, and
    SAML Profiles §4.1.4.2 requires it there for a solicited response (S-17)."""
    envelope = response.document.get("InResponseTo")
    confirmations = response._query_assertion(
        "/saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
    )
    values = {node.get("InResponseTo") for node in confirmations}

    def refuse(reason: Reason, detail: str) -> UpstreamInvalid:
        named = sorted({v for v in (envelope, *values) if v is not None})
        return UpstreamInvalid(
            reason,
            detail=detail,
            facts={
                "expected_in_response_to": expect.request_id or "(none: unsolicited)",
                "actual_in_response_to": ", ".join(named) or "(none)",
            },
        )

    if expect.request_id is None:
        # Unsolicited: it must not claim to answer a request (someone else's, then).
        if envelope is not None or values - {None}:
            raise refuse(Reason.IN_RESPONSE_TO_MISMATCH, "answers a request we did not make")
        return
    if envelope is None and response_signed:
        raise refuse(Reason.UNSOLICITED, "no InResponseTo: IdP-initiated login is not enabled")
    if envelope is not None and envelope != expect.request_id:
        raise refuse(Reason.IN_RESPONSE_TO_MISMATCH, "the response answers another request")
    if values - {expect.request_id, None}:
        raise refuse(Reason.IN_RESPONSE_TO_MISMATCH, "the assertion answers another request")
    if not response_signed and expect.request_id not in values:
        if envelope is None and None in values:
            raise refuse(Reason.UNSOLICITED, "no InResponseTo: IdP-initiated login is off")
        raise refuse(
            Reason.IN_RESPONSE_TO_MISMATCH, "the signed assertion does not name our request"
        )


def _check_audience(response: OneLogin_Saml2_Response, expect: Expectations) -> None:
    """S-29: at least one AudienceRestriction, and every one of them names us (they are a
    conjunction, SAML Core §2.5.1.4)."""
    restrictions = response._query_assertion("/saml:Conditions/saml:AudienceRestriction")
    if not restrictions:
        raise UpstreamInvalid(
            Reason.MISSING_AUDIENCE,
            detail="no AudienceRestriction",
            facts={"expected_audience": expect.sp_entity_id, "actual_audience": "(none)"},
        )
    for restriction in restrictions:
        audiences = [
            OneLogin_Saml2_XML.element_text(a)
            for a in restriction.findall(f"{{{C.NS_SAML}}}Audience")
        ]
        if expect.sp_entity_id not in audiences:
            raise UpstreamInvalid(
                Reason.WRONG_AUDIENCE,
                detail=f"audiences {audiences}",
                facts={
                    "expected_audience": expect.sp_entity_id,
                    "actual_audience": ", ".join(str(a) for a in audiences) or "(none)",
                },
            )


def _check_conditions(auth: Authenticated, expect: Expectations) -> None:
    response = auth.response
    if not response.check_one_condition():
        raise UpstreamInvalid(Reason.MALFORMED, detail="exactly one Conditions element is required")
    conditions = response._query_assertion("/saml:Conditions")[0]
    not_before = _instant(conditions.get("NotBefore"))
    not_on_or_after = _instant(conditions.get("NotOnOrAfter"))
    if not_before is not None and expect.now + expect.skew < not_before:
        raise UpstreamInvalid(
            Reason.NOT_YET_VALID,
            detail=f"NotBefore {not_before.isoformat()}",
            facts=_time_facts("Conditions NotBefore", not_before, auth, expect),
        )
    if not_on_or_after is not None and expect.now - expect.skew >= not_on_or_after:
        raise UpstreamInvalid(
            Reason.EXPIRED,
            detail=f"NotOnOrAfter {not_on_or_after.isoformat()}",
            facts=_time_facts("Conditions NotOnOrAfter", not_on_or_after, auth, expect),
        )


def _check_issue_instant(auth: Authenticated, expect: Expectations) -> None:
    issued = _instant(auth.assertion.get("IssueInstant"))
    if issued is None:
        raise UpstreamInvalid(Reason.MALFORMED, detail="assertion without IssueInstant")
    if issued > expect.now + expect.skew:
        raise UpstreamInvalid(
            Reason.NOT_YET_VALID,
            detail=f"issued in the future {issued.isoformat()}",
            facts=_time_facts("Assertion IssueInstant", issued, auth, expect),
        )
    if expect.now - issued > MAX_ASSERTION_AGE + expect.skew:
        raise UpstreamInvalid(
            Reason.EXPIRED,
            detail=f"issued too long ago {issued.isoformat()}",
            facts={
                **_time_facts("Assertion IssueInstant", issued, auth, expect),
                "max_age_seconds": str(int(MAX_ASSERTION_AGE.total_seconds())),
            },
        )


def _check_subject_confirmation(auth: Authenticated, expect: Expectations) -> None:
    """S-28, SAML Profiles §4.1.4.2: one bearer confirmation whose data has our ACS URL as
    Recipient (exactly), a NotOnOrAfter still in the future, and no NotBefore."""
    problems = []
    recipients: list[str] = []
    for confirmation in auth.response._query_assertion("/saml:Subject/saml:SubjectConfirmation"):
        if confirmation.get("Method") != C.CM_BEARER:
            continue
        data = confirmation.find(f"{{{C.NS_SAML}}}SubjectConfirmationData")
        if data is None:
            problems.append("no SubjectConfirmationData")
            continue
        recipient = data.get("Recipient")
        not_on_or_after = _instant(data.get("NotOnOrAfter"))
        if recipient is None or not _same_url(recipient, expect.acs_url):
            problems.append(f"Recipient {recipient!r}")
            recipients.append(recipient or "(none)")
        elif not_on_or_after is None:
            problems.append("no NotOnOrAfter")
        elif data.get("NotBefore") is not None:
            problems.append("NotBefore present")
        elif expect.now - expect.skew >= not_on_or_after:
            raise UpstreamInvalid(
                Reason.EXPIRED,
                detail=f"confirmation ended {not_on_or_after.isoformat()}",
                facts=_time_facts(
                    "SubjectConfirmationData NotOnOrAfter", not_on_or_after, auth, expect
                ),
            )
        else:
            return
    detail = "; ".join(problems) or "no bearer SubjectConfirmation"
    if recipients:
        raise UpstreamInvalid(
            Reason.WRONG_DESTINATION,
            detail=detail,
            facts={
                "expected_destination": expect.acs_url,
                "actual_destination": ", ".join(recipients),
                "destination_field": "SubjectConfirmationData Recipient",
            },
        )
    raise UpstreamInvalid(
        Reason.SUBJECT_CONFIRMATION_INVALID, detail=detail, facts={"problems": detail[:500]}
    )


def _check_authn_statement(
    auth: Authenticated, expect: Expectations
) -> tuple[datetime | None, str | None]:
    response = auth.response
    if not response.check_one_authnstatement():
        # SAML Profiles §4.1.4.2: a bearer assertion MUST carry the AuthnStatement; without
        # it we could not say truthfully when the person authenticated (auth_time, max_age).
        raise UpstreamInvalid(
            Reason.MISSING_AUTHN_STATEMENT, detail="exactly one AuthnStatement is required"
        )
    statement = response._query_assertion("/saml:AuthnStatement")[0]
    session_end = _instant(statement.get("SessionNotOnOrAfter"))
    if session_end is not None and expect.now - expect.skew >= session_end:
        raise UpstreamInvalid(
            Reason.EXPIRED,
            detail="the IdP session has ended",
            facts=_time_facts("AuthnStatement SessionNotOnOrAfter", session_end, auth, expect),
        )
    return _instant(statement.get("AuthnInstant")), statement.get("SessionIndex")


def _time_facts(
    field: str, idp_time: datetime, auth: Authenticated, expect: Expectations
) -> dict[str, str]:
    """A refused instant beside our clock (the offset is the IdP's value minus our time),
    and the assertion's IssueInstant beside it."""
    return {
        "time_field": field,
        "idp_time": _iso(idp_time),
        "our_time": _iso(expect.now),
        "clock_offset_seconds": str(round((idp_time - expect.now).total_seconds())),
        "allowed_skew_seconds": str(round(expect.skew.total_seconds())),
        **_issue_instant_facts(auth.assertion, expect),
    }


def _issue_instant_facts(assertion: etree._Element, expect: Expectations) -> dict[str, str]:
    """When the IdP says it issued the assertion, by its clock: the best estimate of how far
    its clock is from ours (or how long the answer took to arrive)."""
    try:
        issued = _instant(assertion.get("IssueInstant"))
    except UpstreamInvalid:
        return {}  # a malformed IssueInstant: its own check refuses it
    if issued is None:
        return {}
    return {
        "issue_instant": _iso(issued),
        "issue_instant_offset_seconds": str(round((issued - expect.now).total_seconds())),
    }


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


#: SAML Core §1.3.3: an xs:dateTime in UTC "with no time zone component", to the second or
#: finer (2026-01-15T12:00:00Z, 2026-01-15T12:00:00.123Z). An offset, even +00:00, is not one.
_SAML_INSTANT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z")


def _instant(value: str | None) -> datetime | None:
    """The instant to the second (finer parts are dropped, as python3-saml's own checks do).
    Parsed here rather than by python3-saml, whose parser raises a bare Exception for an
    offset that would escape every check."""
    if value is None:
        return None
    match = _SAML_INSTANT.fullmatch(value)
    try:
        if match is None:
            raise ValueError("not a UTC instant without a time zone")
        return datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:  # also a date no calendar has, or 24:00:00
        raise UpstreamInvalid(Reason.MALFORMED, detail=f"bad instant {value!r}") from exc
