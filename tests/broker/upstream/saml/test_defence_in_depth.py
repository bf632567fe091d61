"""The SAML checks that python3-saml or the SAML protocol schema refuses first today, each
called directly with the input that reaches it.

They stay because a library upgrade or a schema change must not silently drop a check, and so
each needs a test that fails when the check is removed, which no whole-response test can be.
Every case is a golden response signed for real (its odd shape made before signing, as an IdP
would, or after it, as an attacker would), parsed by python3-saml, whose constructor does not
validate against the schema, and handed to the check function. Where a whole response can
carry the shape, the test also asserts what refuses it today, so that a test here that stops
modelling reality says so.
"""

from __future__ import annotations

import base64
import copy
from datetime import timedelta
from typing import Any

import pytest
from lxml import etree
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from broker.model.reasons import Reason
from broker.upstream.errors import UpstreamInvalid
from broker.upstream.saml import assertion_checks, validate
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    IDP_ENTITY_ID,
    NOW,
    NS,
    REQUEST_ID,
    SAML,
    GoldenConnection,
    Mutator,
    encode,
    q,
)
from tests.support.saml_golden_cases import refused, respond
from tests.support.saml_mutators import remove, set_attribute, signature_of

SKEW = timedelta(seconds=120)


def expectations(connection: GoldenConnection) -> validate.Expectations:
    """What the connector expects of a response to the golden request, at the golden instant."""
    return validate.Expectations(
        idp_entity_id=IDP_ENTITY_ID,
        idp_certificates=connection.config().idp_certificates,
        sp_entity_id=connection.entity_id,
        acs_url=connection.acs_url,
        request_id=REQUEST_ID,
        now=NOW,
        skew=SKEW,
        allow_sha1=False,
        allow_cbc_encryption=False,
        require_assertion_signature=True,
        require_encrypted_assertion=False,
    )


def parsed(connection: GoldenConnection, data: bytes) -> validate._Response:
    """`data` as python3-saml parses it under the connection's settings: no check run yet."""
    settings, _ = connection.validation_inputs()
    return validate._Response(settings, base64.b64encode(data), allow_cbc=False)


def unchecked(connection: GoldenConnection, data: bytes) -> validate.Authenticated:
    """The `Authenticated` that `validate.authenticate` would hand the second phase had its
    schema validation (or an earlier check of the second phase) let `data`, signed on both
    levels, through."""
    response = parsed(connection, data)
    assertion = response._query_assertion("")[0]
    return validate.Authenticated(
        response=response,
        assertion=assertion,
        response_signed=True,
        assertion_id=assertion.get("ID"),
        valid_until=NOW + validate.MAX_ASSERTION_AGE + 2 * SKEW,
    )


def refusal(check: Any, *args: Any, **kwargs: Any) -> UpstreamInvalid:
    with pytest.raises(UpstreamInvalid) as caught:
        check(*args, **kwargs)
    return caught.value


def duplicate(path: str, *, new_id: bool = False) -> Mutator:
    """A copy of the element at `path` (ElementPath with the NS prefixes) right after it."""

    def mutate(root: Any) -> None:
        element = root.find(path, NS)
        twin = copy.deepcopy(element)
        if new_id:
            twin.set("ID", f"{element.get('ID')}-twin")
        element.addnext(twin)

    return mutate


# -- assertion_checks.py --------------------------------------------------------------------


def without_nameid_check(settings: Any) -> OneLogin_Saml2_Settings:
    """The connection's python3-saml settings with its own NameID check turned off: what the
    connector would run on if a python3-saml release stopped refusing an absent or empty
    NameID."""
    return OneLogin_Saml2_Settings(
        {
            "strict": settings.is_strict(),
            "sp": settings.get_sp_data(),
            "idp": settings.get_idp_data(),
            "security": {**settings.get_security_data(), "wantNameId": False},
        },
        sp_validation_only=False,
    )


def empty_nameid(root: Any) -> None:
    root.find("saml:Assertion/saml:Subject/saml:NameID", NS).text = None


@pytest.mark.parametrize(
    ("before", "library_detail"),
    [
        pytest.param(
            remove("saml:Assertion/saml:Subject/saml:NameID"),
            "NameID not found in the assertion of the Response",
            id="no-NameID",
        ),
        pytest.param(empty_nameid, "An empty NameID value found", id="empty-NameID"),
    ],
)
def test_an_assertion_naming_no_subject_is_refused_without_python3_saml(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator, library_detail: str
) -> None:
    """The SAML schema allows a Subject of SubjectConfirmations alone, and an empty NameID."""
    data = respond(golden_a, idp_keys, before=before)
    first = refused(golden_a, data)
    assert (first.reason, first.detail) == (Reason.BAD_SUBJECT, library_detail)

    settings, keys = golden_a.validation_inputs()
    expect = expectations(golden_a)
    auth = validate.authenticate(
        encode(data), settings=without_nameid_check(settings), keys=keys, expect=expect
    )
    caught = refusal(assertion_checks.check_assertion, auth, expect)
    assert (caught.reason, caught.detail) == (
        Reason.MISSING_NAMEID,
        "the assertion names no subject",
    )


@pytest.mark.parametrize(
    ("before", "first_reason"),
    [
        pytest.param(duplicate("saml:Assertion/saml:Conditions"), Reason.SCHEMA_INVALID, id="two"),
        pytest.param(remove("saml:Assertion/saml:Conditions"), Reason.MISSING_AUDIENCE, id="none"),
    ],
)
def test_the_assertion_must_have_exactly_one_conditions(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator, first_reason: Reason
) -> None:
    """The schema allows at most one Conditions; none leaves no AudienceRestriction."""
    data = respond(golden_a, idp_keys, before=before)
    assert refused(golden_a, data).reason == first_reason

    caught = refusal(
        assertion_checks._check_conditions, unchecked(golden_a, data), expectations(golden_a)
    )
    assert (caught.reason, caught.detail) == (
        Reason.MALFORMED,
        "exactly one Conditions element is required",
    )


def test_an_assertion_without_issue_instant_is_malformed(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The schema requires the attribute."""
    data = respond(golden_a, idp_keys, before=set_attribute("saml:Assertion", "IssueInstant", None))
    assert refused(golden_a, data).reason == Reason.SCHEMA_INVALID

    caught = refusal(
        assertion_checks._check_issue_instant, unchecked(golden_a, data), expectations(golden_a)
    )
    assert (caught.reason, caught.detail) == (Reason.MALFORMED, "assertion without IssueInstant")


def test_a_time_refusal_without_issue_instant_gives_the_facts_it_has(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """Expired Conditions in an assertion with no IssueInstant: the expiry and our clock are
    reported, and no IssueInstant facts are made up (nor does building them fail)."""
    ended = NOW - timedelta(minutes=10)
    data = respond(
        golden_a,
        idp_keys,
        before=set_attribute("saml:Assertion", "IssueInstant", None),
        not_on_or_after=ended,
    )
    assert refused(golden_a, data).reason == Reason.SCHEMA_INVALID

    caught = refusal(
        assertion_checks._check_conditions, unchecked(golden_a, data), expectations(golden_a)
    )
    assert (caught.reason, caught.detail) == (Reason.EXPIRED, f"NotOnOrAfter {ended.isoformat()}")
    assert caught.facts == {
        "time_field": "Conditions NotOnOrAfter",
        "idp_time": "2026-01-01T11:50:00Z",
        "our_time": "2026-01-01T12:00:00Z",
        "clock_offset_seconds": "-600",
        "allowed_skew_seconds": "120",
    }


# -- validate.py ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "count"),
    [
        pytest.param(duplicate("saml:Assertion", new_id=True), 2, id="two"),
        pytest.param(remove("saml:Assertion"), 0, id="none"),
    ],
)
def test_the_signed_response_must_hold_exactly_one_assertion(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator, count: int
) -> None:
    """Read the way the later checks read it; python3-saml's count over the whole document
    refuses these first, with the same reason and another detail."""
    data = respond(golden_a, idp_keys, sign="response", before=before)
    first = refused(golden_a, data, require_assertion_signature=False)
    assert (first.reason, first.detail) == (
        Reason.WRONG_NUMBER_OF_ASSERTIONS,
        "exactly one assertion is allowed",
    )

    caught = refusal(validate._signed_assertion, parsed(golden_a, data))
    assert (caught.reason, caught.detail) == (
        Reason.WRONG_NUMBER_OF_ASSERTIONS,
        "the signed assertion was not found",
    )
    assert caught.facts == {"assertion_count": str(count)}


def second_response_signature(root: Any) -> None:
    signature_of(root).addnext(copy.deepcopy(signature_of(root)))


@pytest.mark.parametrize(
    ("sign", "mutate", "xpath"),
    [
        pytest.param(
            "both",
            second_response_signature,
            OneLogin_Saml2_Utils.RESPONSE_SIGNATURE_XPATH,
            id="two-response-signatures",
        ),
        pytest.param(
            "assertion",
            None,
            OneLogin_Saml2_Utils.RESPONSE_SIGNATURE_XPATH,
            id="no-response-signature",
        ),
        pytest.param(
            "response",
            None,
            OneLogin_Saml2_Utils.ASSERTION_SIGNATURE_XPATH,
            id="no-assertion-signature",
        ),
    ],
)
def test_a_signature_is_verified_only_where_it_must_be(
    golden_a: GoldenConnection, idp_keys: IdpKeys, sign: str, mutate: Mutator | None, xpath: str
) -> None:
    """python3-saml's `process_signed_elements` refuses a second signature first, and
    `authenticate` verifies only where it found a signature."""
    data = respond(golden_a, idp_keys, sign=sign, mutate=mutate)
    if mutate is not None:
        first = refused(golden_a, data)
        assert (first.reason, first.detail) == (
            Reason.BAD_SIGNATURE_STRUCTURE,
            "Duplicated ID. SAML Response rejected",
        )

    _, keys = golden_a.validation_inputs()
    tree = parsed(golden_a, data).document
    caught = refusal(validate._verify_at, tree, xpath, keys, expectations(golden_a))
    assert (caught.reason, caught.detail) == (
        Reason.BAD_SIGNATURE_STRUCTURE,
        "signature not where it must be",
    )


def second_issuer(path: str) -> Mutator:
    """Another Issuer (a stranger's) right after the one at `path`."""

    def mutate(root: Any) -> None:
        issuer = root.find(path, NS)
        twin = etree.Element(q(SAML, "Issuer"))
        twin.text = "https://stranger.test/metadata"
        issuer.addnext(twin)

    return mutate


@pytest.mark.parametrize(
    "before",
    [
        pytest.param(remove("saml:Assertion/saml:Issuer"), id="none"),
        pytest.param(second_issuer("saml:Assertion/saml:Issuer"), id="two"),
    ],
)
def test_the_assertion_must_have_one_issuer(
    golden_a: GoldenConnection, idp_keys: IdpKeys, before: Mutator
) -> None:
    """The schema requires exactly one."""
    data = respond(golden_a, idp_keys, before=before)
    assert refused(golden_a, data).reason == Reason.SCHEMA_INVALID

    response = parsed(golden_a, data)
    caught = refusal(
        validate._check_issuers,
        response,
        response.document,
        expectations(golden_a),
        response_signed=True,
    )
    assert (caught.reason, caught.detail) == (
        Reason.WRONG_ISSUER,
        "the assertion must have one Issuer",
    )


def test_the_response_may_not_have_several_issuers(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The schema allows at most one; a second could name anyone."""
    data = respond(golden_a, idp_keys, before=second_issuer("saml:Issuer"))
    assert refused(golden_a, data).reason == Reason.SCHEMA_INVALID

    response = parsed(golden_a, data)
    caught = refusal(
        validate._check_issuers,
        response,
        response.document,
        expectations(golden_a),
        response_signed=True,
    )
    assert (caught.reason, caught.detail) == (
        Reason.WRONG_ISSUER,
        "several Issuers on the response",
    )
