"""Building an unsigned SAML 2.0 `samlp:Response` from plain data.

Element order follows the protocol and assertion schemas (a `sequence` in XSD is ordered):
Response = Issuer, [Signature], Status, [Assertion]; Assertion = Issuer, [Signature], Subject,
Conditions, AuthnStatement, [AttributeStatement]. `signing.sign` later inserts each Signature
right after its Issuer. An Assertion is included only for a Success status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from idp_simulator.saml.xmltools import SAML, SAMLP, etree, new_id, qname, saml_datetime, to_bytes

__all__ = [
    "ATTRNAME_FORMAT_BASIC",
    "AUTHN_CONTEXT_PASSWORD_PROTECTED",
    "CONFIRMATION_BEARER",
    "NAMEID_EMAIL",
    "NAMEID_UNSPECIFIED",
    "STATUS_AUTHN_FAILED",
    "STATUS_RESPONDER",
    "STATUS_SUCCESS",
    "ResponseSpec",
    "build_response",
    "response_xml",
]

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
STATUS_AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
ATTRNAME_FORMAT_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
CONFIRMATION_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
AUTHN_CONTEXT_PASSWORD_PROTECTED = (
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105 (a URN)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseSpec:
    """Everything a Response says, as data. Scenarios are `dataclasses.replace` on one of these.

    `destination` is the Response's Destination attribute and `recipient` the
    SubjectConfirmationData's Recipient: both are normally the ACS URL, kept apart so a test can
    break one without the other. All datetimes must be timezone-aware.
    """

    issuer: str
    destination: str
    audience: str
    recipient: str
    in_response_to: str | None
    name_id: str
    name_id_format: str = NAMEID_EMAIL
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    issue_instant: datetime
    not_before: datetime
    not_on_or_after: datetime
    subject_confirmation_not_on_or_after: datetime
    authn_instant: datetime
    session_index: str = field(default_factory=new_id)
    status_code: str = STATUS_SUCCESS
    sub_status_code: str | None = None
    status_message: str | None = None
    response_id: str = field(default_factory=new_id)
    assertion_id: str = field(default_factory=new_id)


def build_response(spec: ResponseSpec) -> Any:
    """The unsigned Response as an lxml element (the document root), ready for `signing`."""
    response = etree.Element(qname(SAMLP, "Response"), nsmap={"samlp": SAMLP, "saml": SAML})
    response.set("ID", spec.response_id)
    response.set("Version", "2.0")
    response.set("IssueInstant", saml_datetime(spec.issue_instant))
    response.set("Destination", spec.destination)
    if spec.in_response_to is not None:
        response.set("InResponseTo", spec.in_response_to)
    _text(response, SAML, "Issuer", spec.issuer)
    _status(response, spec)
    if spec.status_code == STATUS_SUCCESS:
        _assertion(response, spec)
    return response


def response_xml(spec: ResponseSpec) -> bytes:
    """`build_response` serialized: an unsigned Response document."""
    return to_bytes(build_response(spec))


def _status(parent: Any, spec: ResponseSpec) -> None:
    status = etree.SubElement(parent, qname(SAMLP, "Status"))
    code = etree.SubElement(status, qname(SAMLP, "StatusCode"), Value=spec.status_code)
    if spec.sub_status_code is not None:
        etree.SubElement(code, qname(SAMLP, "StatusCode"), Value=spec.sub_status_code)
    if spec.status_message is not None:
        _text(status, SAMLP, "StatusMessage", spec.status_message)


def _assertion(parent: Any, spec: ResponseSpec) -> None:
    assertion = etree.SubElement(parent, qname(SAML, "Assertion"))
    assertion.set("ID", spec.assertion_id)
    assertion.set("Version", "2.0")
    assertion.set("IssueInstant", saml_datetime(spec.issue_instant))
    _text(assertion, SAML, "Issuer", spec.issuer)

    subject = etree.SubElement(assertion, qname(SAML, "Subject"))
    _text(subject, SAML, "NameID", spec.name_id).set("Format", spec.name_id_format)
    confirmation = etree.SubElement(subject, qname(SAML, "SubjectConfirmation"))
    confirmation.set("Method", CONFIRMATION_BEARER)
    data = etree.SubElement(confirmation, qname(SAML, "SubjectConfirmationData"))
    if spec.in_response_to is not None:
        data.set("InResponseTo", spec.in_response_to)
    data.set("NotOnOrAfter", saml_datetime(spec.subject_confirmation_not_on_or_after))
    data.set("Recipient", spec.recipient)

    conditions = etree.SubElement(assertion, qname(SAML, "Conditions"))
    conditions.set("NotBefore", saml_datetime(spec.not_before))
    conditions.set("NotOnOrAfter", saml_datetime(spec.not_on_or_after))
    restriction = etree.SubElement(conditions, qname(SAML, "AudienceRestriction"))
    _text(restriction, SAML, "Audience", spec.audience)

    statement = etree.SubElement(assertion, qname(SAML, "AuthnStatement"))
    statement.set("AuthnInstant", saml_datetime(spec.authn_instant))
    statement.set("SessionIndex", spec.session_index)
    context = etree.SubElement(statement, qname(SAML, "AuthnContext"))
    _text(context, SAML, "AuthnContextClassRef", AUTHN_CONTEXT_PASSWORD_PROTECTED)

    # The schema wants at least one Attribute in an AttributeStatement: none means no statement.
    if spec.attributes:
        attributes = etree.SubElement(assertion, qname(SAML, "AttributeStatement"))
        for name, values in spec.attributes.items():
            attribute = etree.SubElement(attributes, qname(SAML, "Attribute"))
            attribute.set("Name", name)
            attribute.set("NameFormat", ATTRNAME_FORMAT_BASIC)
            # A bare string is one value, not a sequence of one-character values.
            for value in (values,) if isinstance(values, str) else values:
                _text(attribute, SAML, "AttributeValue", value)


def _text(parent: Any, namespace: str, local: str, text: str) -> Any:
    element = etree.SubElement(parent, qname(namespace, local))
    element.text = text
    return element
