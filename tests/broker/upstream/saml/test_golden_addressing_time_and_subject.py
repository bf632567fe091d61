"""Correctly signed, but not for us, not now, or not about anyone (docs/security.md
S-27…S-32, S-36, S-37).

A valid signature only proves the IdP said it. Every response here is signed by the right key
(edits are made before signing), so each refusal is the content check's doing: Destination,
Recipient, Audience and Issuer compared exactly (S-27…S-30); the connection's own clock skew
and a maximum assertion age rather than python3-saml's defaults, at ±1 s of each boundary
(S-31, S-32); an error status whose attached assertion is never used (S-36); and a subject that
is present, non-empty and unambiguous (S-37).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import lxml.etree
import pytest

from broker.upstream.base import UpstreamRejected
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.saml_golden import (
    ALICE,
    EVIL,
    IDP_ENTITY_ID,
    NOW,
    NS,
    GoldenConnection,
    Mutator,
    encode,
)
from tests.support.saml_golden_cases import accepted, refused, respond
from tests.support.saml_mutators import remove, set_attribute, set_status

SAML_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


# -- S-27…S-30: addressing ---------------------------------------------------------------------

ACS_A = endpoints_for(ISSUER, "con_golden_a", "saml").callback_url
ACS_B = endpoints_for(ISSUER, "con_golden_b", "saml").callback_url


@pytest.mark.parametrize(
    ("changes", "before", "reason"),
    [
        pytest.param({"destination": ACS_B}, None, "wrong_destination", id="S-27-other-acs"),
        pytest.param({"destination": ACS_A + "X"}, None, "wrong_destination", id="S-27-prefix"),
        pytest.param({"destination": ACS_A + "?x"}, None, "wrong_destination", id="S-27-query"),
        pytest.param(
            {"destination": ACS_A.replace("con_golden_a", "con_golden_b/../con_golden_a")},
            None,
            "wrong_destination",
            id="S-27-dot-dot",
        ),
        pytest.param({"destination": ""}, None, "wrong_destination", id="S-27-empty"),
        pytest.param(
            {},
            set_attribute(".", "Destination", None),
            "wrong_destination",
            id="S-27-missing-on-signed-response",
        ),
        pytest.param(
            {"recipient": f"https://evil.test/?u={ACS_A}"},
            None,
            "wrong_destination",
            id="S-28-recipient-substring",
        ),
        pytest.param({"recipient": ACS_B}, None, "wrong_destination", id="S-28-other-recipient"),
        pytest.param(
            {},
            set_attribute(".//saml:SubjectConfirmationData", "Recipient", None),
            "wrong_destination",
            id="S-28-missing-recipient",
        ),
        pytest.param(
            {},
            set_attribute(".//saml:SubjectConfirmationData", "NotOnOrAfter", None),
            "subject_confirmation_invalid",
            id="S-28-missing-notonorafter",
        ),
        pytest.param(
            {},
            set_attribute(".//saml:SubjectConfirmationData", "NotBefore", "2026-01-01T11:59:00Z"),
            "subject_confirmation_invalid",
            id="S-28-notbefore-present",
        ),
        pytest.param(
            {},
            remove(".//saml:SubjectConfirmation"),
            "subject_confirmation_invalid",
            id="S-28-no-subjectconfirmation",
        ),
        pytest.param(
            {},
            remove(".//saml:AudienceRestriction"),
            "missing_audience",
            id="S-29-missing-audiencerestriction",
        ),
        pytest.param(
            {"audience": endpoints_for(ISSUER, "con_golden_b", "saml").entity_id},
            None,
            "wrong_audience",
            id="S-29-other-sp",
        ),
        pytest.param(
            {"audience": endpoints_for(ISSUER, "con_golden_a", "saml").entity_id + "/"},
            None,
            "wrong_audience",
            id="S-29-trailing-slash",
        ),
        pytest.param(
            {"audience": endpoints_for(ISSUER, "con_golden_a", "saml").entity_id.upper()},
            None,
            "wrong_audience",
            id="S-29-case",
        ),
        pytest.param(
            {},
            remove("saml:Assertion/saml:Issuer"),
            "schema_invalid",
            id="S-30-missing-on-assertion",
        ),
        pytest.param(
            {}, remove("saml:Issuer"), "wrong_issuer", id="S-30-missing-on-signed-response"
        ),
        pytest.param(
            {},
            lambda root: setattr(root.find("saml:Issuer", NS), "text", "https://other-idp.test"),
            "wrong_issuer",
            id="S-30-response-differs-from-assertion",
        ),
        pytest.param(
            {},
            lambda root: setattr(
                root.find("saml:Assertion/saml:Issuer", NS), "text", "https://other-idp.test"
            ),
            "wrong_issuer",
            id="S-30-assertion-differs-from-response",
        ),
        pytest.param(
            {"issuer": "https://other-idp.test"}, None, "wrong_issuer", id="S-30-other-idp"
        ),
        pytest.param(
            {},
            lambda root: root.find("saml:Issuer", NS).addnext(
                lxml.etree.fromstring(
                    f'<saml:Issuer xmlns:saml="{NS["saml"]}">{IDP_ENTITY_ID}</saml:Issuer>'
                )
            ),
            "schema_invalid",
            id="S-30-two-issuers",
        ),
    ],
)
def test_addressing_is_exact(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    changes: dict[str, Any],
    before: Mutator | None,
    reason: str,
) -> None:
    """S-27 Destination, S-28 Recipient, S-29 Audience, S-30 Issuer: signed by the right key,
    addressed wrongly."""
    data = respond(golden_a, idp_keys, before=before, **changes)
    assert refused(golden_a, data).reason == reason


def test_s27_destination_differing_only_in_scheme_host_case_and_default_port_is_accepted(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    spelled = ACS_A.replace("https://gatehouse.test", "HTTPS://GATEHOUSE.TEST:443")
    accepted(golden_a, respond(golden_a, idp_keys, destination=spelled, recipient=spelled))


def test_s30_unsigned_envelope_may_omit_its_issuer(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """SAML Core §3.2.2: the Response Issuer is optional; only a signed one must name it."""
    accepted(golden_a, respond(golden_a, idp_keys, sign="assertion", before=remove("saml:Issuer")))


# -- S-31, S-32: time -----------------------------------------------------------------------


def _window(**changes: Any) -> dict[str, Any]:
    """A response issued five minutes ago, with `changes` (seconds relative to NOW)."""
    base = {
        "issue_instant": NOW - timedelta(minutes=5),
        "authn_instant": NOW - timedelta(minutes=5),
        "not_before": NOW - timedelta(minutes=6),
        "not_on_or_after": NOW + timedelta(minutes=5),
        "subject_confirmation_not_on_or_after": NOW + timedelta(minutes=5),
    }
    return base | {k: NOW + timedelta(seconds=v) for k, v in changes.items()}


@pytest.mark.parametrize("skew", [30, 120])
@pytest.mark.parametrize(
    ("field", "offset", "reason"),
    [
        pytest.param("not_before", +1, "not_yet_valid", id="NotBefore-skew+1s"),
        pytest.param("not_before", -1, None, id="NotBefore-skew-1s"),
        pytest.param("not_on_or_after", -1, "expired", id="NotOnOrAfter-skew-1s"),
        pytest.param("not_on_or_after", +1, None, id="NotOnOrAfter-skew+1s"),
        pytest.param(
            "subject_confirmation_not_on_or_after", -1, "expired", id="SCD-NotOnOrAfter-skew-1s"
        ),
        pytest.param(
            "subject_confirmation_not_on_or_after", +1, None, id="SCD-NotOnOrAfter-skew+1s"
        ),
        pytest.param("issue_instant", +1, "not_yet_valid", id="IssueInstant-skew+1s"),
        pytest.param("issue_instant", -1, None, id="IssueInstant-skew-1s"),
    ],
)
def test_s31_clock_skew_boundaries_are_the_connections(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    skew: int,
    field: str,
    offset: int,
    reason: str | None,
) -> None:
    """S-31: ±1 s around the connection's own skew (not python3-saml's hard-coded 300 s).
    NotBefore / IssueInstant at now + skew ± 1 s; the NotOnOrAfters at now - skew ± 1 s."""
    sign = +1 if field in ("not_before", "issue_instant") else -1
    changes = _window(**{field: sign * skew + offset})
    if field == "issue_instant":
        changes["authn_instant"] = changes["issue_instant"]
    data = respond(golden_a, idp_keys, **changes)
    if reason is None:
        accepted(golden_a, data, clock_skew_seconds=skew)
    else:
        assert refused(golden_a, data, clock_skew_seconds=skew).reason == reason


@pytest.mark.parametrize(
    ("age", "reason"),
    [
        pytest.param(timedelta(hours=2), "expired", id="S-32-issued-2h-ago-valid-until-2054"),
        pytest.param(timedelta(minutes=12, seconds=1), "expired", id="S-32-max-age+skew+1s"),
        pytest.param(timedelta(minutes=11, seconds=59), None, id="S-32-max-age+skew-1s"),
    ],
)
def test_s32_stale_assertion_with_far_future_expiry_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys, age: timedelta, reason: str | None
) -> None:
    """S-32: IssueInstant old, NotOnOrAfter in 2054. Max age 10 min + the 120 s skew."""
    far = NOW.replace(year=2054)
    data = respond(
        golden_a,
        idp_keys,
        issue_instant=NOW - age,
        authn_instant=NOW - age,
        not_before=NOW - age,
        not_on_or_after=far,
        subject_confirmation_not_on_or_after=far,
    )
    if reason is None:
        accepted(golden_a, data)
    else:
        assert refused(golden_a, data).reason == reason


# -- S-36, S-37: status and subject ------------------------------------------------------------


def test_s36_error_status_with_an_assertion_attached_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-36: the assertion carried by a Responder status is never used."""
    data = respond(golden_a, idp_keys, before=set_status(SAML_RESPONDER))
    assert b"<saml:Assertion" in data
    with pytest.raises(UpstreamRejected) as caught:
        golden_a.open().login(encode(data))
    assert caught.value.idp_code == "Responder"


@pytest.mark.parametrize(
    ("before", "changes", "options", "reason"),
    [
        pytest.param(remove(".//saml:NameID"), {}, {}, "bad_subject", id="S-37-missing"),
        pytest.param(
            lambda root: setattr(root.find(".//saml:NameID", NS), "text", ""),
            {},
            {},
            "bad_subject",
            id="S-37-empty",
        ),
        pytest.param(
            None,
            {"name_id_format": TRANSIENT, "name_id": "_t1"},
            {},
            "transient_nameid",
            id="S-37-transient-without-subject-attribute",
        ),
        pytest.param(
            lambda root: root.find(".//saml:AttributeStatement", NS).append(
                lxml.etree.fromstring(
                    f'<saml:Attribute xmlns:saml="{NS["saml"]}" Name="email">'
                    f"<saml:AttributeValue>{EVIL}</saml:AttributeValue></saml:Attribute>"
                )
            ),
            {},
            {},
            "ambiguous_email",
            id="S-37-duplicated-email-attribute",
        ),
    ],
)
def test_s37_subject_must_be_present_and_stable(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    before: Mutator | None,
    changes: dict[str, Any],
    options: dict[str, Any],
    reason: str,
) -> None:
    data = respond(golden_a, idp_keys, before=before, **changes)
    assert refused(golden_a, data, **options).reason == reason


def test_s37_transient_nameid_with_a_subject_attribute_keys_on_the_attribute(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(
        golden_a,
        idp_keys,
        name_id_format=TRANSIENT,
        name_id="_t1",
        attributes={"email": (ALICE,), "objectidentifier": ("oid-123",)},
    )
    identity = golden_a.open(subject_attribute="objectidentifier").login(encode(data))
    assert identity.subject == "oid-123"
    assert identity.email == ALICE
