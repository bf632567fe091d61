"""Named failure scenarios: data changes to a `ResponseSpec`, signing choices, and tampering.

Each scenario is the smallest departure from a good response that a broker must notice, so a
test can say `Scenario.EXPIRED` instead of hand-building XML. The pipeline is the same for all:
`adjust_spec` (pure data) → `build_response` → sign (or not, or with another key) → `_tamper`
(changes made *after* signing, which is the point of wrapping and comment attacks).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from collections.abc import Callable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any

from idp_simulator.keys import IdpKeys
from idp_simulator.saml.response import (
    NAMEID_UNSPECIFIED,
    STATUS_AUTHN_FAILED,
    STATUS_RESPONDER,
    ResponseSpec,
    build_response,
)
from idp_simulator.saml.signing import SignatureAlgorithm, sign_response_tree
from idp_simulator.saml.xmltools import DS, SAML, etree, new_id, qname, to_bytes
from idp_simulator.user import EMAIL_ATTRIBUTE, local_part_names

__all__ = [
    "DESCRIPTIONS",
    "EMAIL_ATTRIBUTE",
    "EVIL_EMAIL",
    "NAMEID_COMMENT_SUFFIX",
    "Scenario",
    "adjust_spec",
    "scenario_for_email",
    "scenario_response_xml",
]

EVIL_EMAIL = "evil@example.com"
NAMEID_COMMENT_SUFFIX = ".evil.test"
OTHER_SUFFIX = "-other"


class Scenario(StrEnum):
    """The scenario names, as typed in the login form or an email's local part."""

    SUCCESS = "success"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    WRONG_AUDIENCE = "wrong-audience"
    WRONG_DESTINATION = "wrong-destination"
    WRONG_ISSUER = "wrong-issuer"
    UNSIGNED = "unsigned"
    WRONG_KEY = "wrong-key"
    IN_RESPONSE_TO_MISMATCH = "in-response-to-mismatch"
    SIGNATURE_WRAPPING = "signature-wrapping"
    NAMEID_COMMENT = "nameid-comment"
    STATUS_RESPONDER = "status-responder"
    STATUS_AUTHN_FAILED = "status-authn-failed"
    MISSING_EMAIL = "missing-email"
    SHA1_SIGNATURE = "sha1-signature"
    REPLAY = "replay"


_NAMES = frozenset(scenario.value for scenario in Scenario)

DESCRIPTIONS: Mapping[Scenario, str] = {
    Scenario.SUCCESS: "A valid, signed response: the login should succeed.",
    Scenario.EXPIRED: "Conditions and SubjectConfirmationData expired an hour ago.",
    Scenario.NOT_YET_VALID: "Conditions NotBefore is an hour in the future.",
    Scenario.WRONG_AUDIENCE: "The Audience is not the SP's entity ID (suffix -other).",
    Scenario.WRONG_DESTINATION: "Destination and Recipient are the ACS URL + -other.",
    Scenario.WRONG_ISSUER: "Response and Assertion Issuer are not this IdP's entity ID.",
    Scenario.UNSIGNED: "No signature on the Response or the Assertion.",
    Scenario.WRONG_KEY: "Signed by a throwaway key, whose certificate is in KeyInfo.",
    Scenario.IN_RESPONSE_TO_MISMATCH: "InResponseTo names a request the SP never sent.",
    Scenario.SIGNATURE_WRAPPING: (
        "An unsigned evil Assertion (evil@example.com) is inserted before the signed one "
        "(choose 'assertion' signing for the classic attack)."
    ),
    Scenario.NAMEID_COMMENT: (
        "Signed for <email>.evil.test, then a comment splits the text so a naive reader "
        "sees <email>."
    ),
    Scenario.STATUS_RESPONDER: "Top-level status Responder, no Assertion.",
    Scenario.STATUS_AUTHN_FAILED: "Status Responder / AuthnFailed, no Assertion.",
    Scenario.MISSING_EMAIL: "No email attribute; NameID is an opaque unspecified-format id.",
    Scenario.SHA1_SIGNATURE: "Signed with RSA-SHA1 and a SHA-1 digest.",
    Scenario.REPLAY: "A normal success; then open /replay to post the same response again.",
}


def scenario_for_email(email: str) -> Scenario | None:
    """The scenario an email names: `expired@example.com` or `alice+expired@example.com`."""
    for candidate in local_part_names(email):
        if candidate in _NAMES:
            return Scenario(candidate)
    return None


def adjust_spec(scenario: Scenario | str, spec: ResponseSpec) -> ResponseSpec:
    """The data part of `scenario`; times move relative to `spec.issue_instant` ("now").

    A plain string is accepted and checked (`ValueError` for an unknown name): comparing a
    string to the members by identity would silently fall through to success.
    """
    scenario = Scenario(scenario)
    now = spec.issue_instant
    replace = dataclasses.replace
    if scenario is Scenario.EXPIRED:
        return replace(
            spec,
            issue_instant=now - timedelta(hours=2),
            authn_instant=now - timedelta(hours=2),
            not_before=now - timedelta(hours=2) - (now - spec.not_before),
            not_on_or_after=now - timedelta(hours=1),
            subject_confirmation_not_on_or_after=now - timedelta(hours=1),
        )
    if scenario is Scenario.NOT_YET_VALID:
        # The window keeps its length, so NotBefore is the only thing wrong with it.
        not_before = now + timedelta(hours=1)
        window = spec.not_on_or_after - spec.not_before
        return replace(spec, not_before=not_before, not_on_or_after=not_before + window)
    if scenario is Scenario.WRONG_AUDIENCE:
        return replace(spec, audience=spec.audience + OTHER_SUFFIX)
    if scenario is Scenario.WRONG_DESTINATION:
        return replace(
            spec,
            destination=spec.destination + OTHER_SUFFIX,
            recipient=spec.recipient + OTHER_SUFFIX,
        )
    if scenario is Scenario.WRONG_ISSUER:
        return replace(spec, issuer=spec.issuer + OTHER_SUFFIX)
    if scenario is Scenario.IN_RESPONSE_TO_MISMATCH:
        return replace(spec, in_response_to=new_id())
    if scenario is Scenario.NAMEID_COMMENT:
        return replace(
            spec,
            name_id=spec.name_id + NAMEID_COMMENT_SUFFIX,
            attributes=_with_email(spec, lambda value: value + NAMEID_COMMENT_SUFFIX),
        )
    if scenario is Scenario.STATUS_RESPONDER:
        return replace(
            spec,
            status_code=STATUS_RESPONDER,
            status_message="The identity provider could not answer (simulated).",
        )
    if scenario is Scenario.STATUS_AUTHN_FAILED:
        return replace(
            spec,
            status_code=STATUS_RESPONDER,
            sub_status_code=STATUS_AUTHN_FAILED,
            status_message="The user could not be authenticated (simulated).",
        )
    if scenario is Scenario.MISSING_EMAIL:
        opaque = "u-" + hashlib.sha256(spec.name_id.encode("utf-8")).hexdigest()[:24]
        attributes = {k: v for k, v in spec.attributes.items() if k != EMAIL_ATTRIBUTE}
        return replace(
            spec, name_id=opaque, name_id_format=NAMEID_UNSPECIFIED, attributes=attributes
        )
    return spec


def scenario_response_xml(
    scenario: Scenario | str,
    spec: ResponseSpec,
    *,
    keys: IdpKeys,
    wrong_keys: IdpKeys,
    sign_assertion: bool = True,
    sign_response: bool = True,
) -> bytes:
    """The final Response bytes for `scenario`, starting from the good response `spec`.

    `wrong_keys` signs the wrong-key scenario; `unsigned` ignores the signing choices.
    """
    scenario = Scenario(scenario)
    response = build_response(adjust_spec(scenario, spec))
    if scenario is not Scenario.UNSIGNED:
        algorithm: SignatureAlgorithm = (
            "rsa-sha1" if scenario is Scenario.SHA1_SIGNATURE else "rsa-sha256"
        )
        sign_response_tree(
            response,
            wrong_keys if scenario is Scenario.WRONG_KEY else keys,
            sign_assertion=sign_assertion,
            sign_response=sign_response,
            algorithm=algorithm,
        )
    _tamper(scenario, response)
    return to_bytes(response)


def _tamper(scenario: Scenario, response: Any) -> None:
    if scenario is Scenario.SIGNATURE_WRAPPING:
        _wrap(response)
    elif scenario is Scenario.NAMEID_COMMENT:
        assertion = response.find(qname(SAML, "Assertion"))
        _split_with_comment(assertion.find(f"{qname(SAML, 'Subject')}/{qname(SAML, 'NameID')}"))
        for attribute in assertion.iter(qname(SAML, "Attribute")):
            if attribute.get("Name") == EMAIL_ATTRIBUTE:
                for value in attribute.iter(qname(SAML, "AttributeValue")):
                    _split_with_comment(value)


def _wrap(response: Any) -> None:
    """XML signature wrapping: a copy of the signed Assertion, unsigned, with a new ID and the
    evil identity, placed *before* the signed one, where a reader taking the first Assertion
    while verifying the one the signature references would accept it."""
    signed = response.find(qname(SAML, "Assertion"))
    evil = copy.deepcopy(signed)
    for signature in evil.findall(qname(DS, "Signature")):
        evil.remove(signature)
    evil.set("ID", new_id())
    evil.find(f"{qname(SAML, 'Subject')}/{qname(SAML, 'NameID')}").text = EVIL_EMAIL
    for attribute in evil.iter(qname(SAML, "Attribute")):
        if attribute.get("Name") == EMAIL_ATTRIBUTE:
            for value in attribute.iter(qname(SAML, "AttributeValue")):
                value.text = EVIL_EMAIL
    signed.addprevious(evil)


def _split_with_comment(element: Any) -> None:
    """`a@x.com.evil.test` becomes `a@x.com<!---->.evil.test`: exclusive c14n without comments
    yields the same text, so the signature holds, while `.text` returns only `a@x.com`."""
    text: str = element.text or ""
    if not text.endswith(NAMEID_COMMENT_SUFFIX):
        return
    head = text[: -len(NAMEID_COMMENT_SUFFIX)]
    element.text = head
    comment = etree.Comment("")
    comment.tail = NAMEID_COMMENT_SUFFIX
    element.append(comment)


def _with_email(spec: ResponseSpec, change: Callable[[str], str]) -> dict[str, tuple[str, ...]]:
    return {
        name: tuple(change(v) for v in values) if name == EMAIL_ATTRIBUTE else tuple(values)
        for name, values in spec.attributes.items()
    }
