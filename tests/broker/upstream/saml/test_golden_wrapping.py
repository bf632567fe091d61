"""Signature wrapping (docs/security.md S-01…S-13): a verified signature, an evil reader.

Wrapping keeps reappearing in new SAML libraries, each time as a shape the last fix did not
foresee, so each shape asserts the exact reason code of the check that answers first (removing
that check, or letting another answer first, fails the test), after proving the unattacked
response is accepted under exactly the same signing mode and options: the refusal is then the
mutation's doing. The classic shapes are refused again with the ID-uniqueness check disabled,
to prove that python3-saml's structural checks stand behind it on their own. The DOCTYPE
variants of the same recipes (S-09, S-11, S-12) must die at parse, before any signature work;
S-13/S-17 apply the lesson to the unsigned envelope around a signed assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lxml.etree
import pytest

from broker.upstream.saml import validate
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    ALICE,
    OTHER_REQUEST_ID,
    REQUEST_ID,
    GoldenConnection,
    Mutator,
    encode,
    serialize,
)
from tests.support.saml_golden_cases import RAS_OFF, accepted, refused, respond
from tests.support.saml_mutators import set_attribute
from tests.support.saml_mutators_wrapping import (
    append_unsigned_assertion,
    assertion_in_ds_object,
    cve_2025_23369_doctype,
    cve_2025_25291,
    cve_2025_25292_doctype,
    duplicate_id_before_assertion,
    forged_signed_info_in_extensions,
    make_evil,
    namespaced_id,
    nonuri_namespace,
    relocate_assertion_signature,
    signature_in_status_detail,
    xsw1,
    xsw2,
    xsw3,
    xsw4,
    xsw5,
    xsw6,
    xsw7,
    xsw7_samlp_extensions,
    xsw8,
)

# -- S-01…S-10, S-12: signature wrapping and friends ------------------------------------------

WRAPPING = [
    pytest.param(xsw1, "response", RAS_OFF, "duplicate_id", id="S-01-xsw1"),
    pytest.param(xsw2, "response", RAS_OFF, "duplicate_id", id="S-02-xsw2"),
    pytest.param(xsw3, "assertion", {}, "wrong_number_of_assertions", id="S-03-xsw3"),
    pytest.param(xsw3, "both", {}, "wrong_number_of_assertions", id="S-03-xsw3-both"),
    pytest.param(xsw4, "assertion", {}, "wrong_number_of_assertions", id="S-04-xsw4"),
    pytest.param(xsw4, "both", {}, "wrong_number_of_assertions", id="S-04-xsw4-both"),
    pytest.param(xsw5, "assertion", {}, "bad_signature_structure", id="S-05-xsw5"),
    pytest.param(xsw5, "both", {}, "bad_signature_structure", id="S-05-xsw5-both"),
    pytest.param(xsw6, "assertion", {}, "bad_signature_structure", id="S-06-xsw6"),
    pytest.param(xsw6, "both", {}, "bad_signature_structure", id="S-06-xsw6-both"),
    pytest.param(xsw7, "assertion", {}, "duplicate_id", id="S-07-xsw7"),
    pytest.param(xsw7_samlp_extensions, "both", {}, "duplicate_id", id="S-07-xsw7-samlp"),
    pytest.param(xsw8, "assertion", {}, "duplicate_id", id="S-08-xsw8"),
    pytest.param(xsw8, "both", {}, "duplicate_id", id="S-08-xsw8-both"),
    pytest.param(
        append_unsigned_assertion,
        "assertion",
        {},
        "wrong_number_of_assertions",
        id="S-09-cve-2022-41912",
    ),
    pytest.param(
        assertion_in_ds_object, "both", {}, "bad_signature_structure", id="S-09-xsw10-ds-object"
    ),
    pytest.param(namespaced_id, "assertion", {}, "duplicate_id", id="S-09-namespaced-x-ID"),
    pytest.param(
        duplicate_id_before_assertion, "assertion", {}, "duplicate_id", id="S-09-duplicate-ID"
    ),
    pytest.param(
        relocate_assertion_signature,
        "assertion",
        {},
        "bad_signature_structure",
        id="S-09-signature-relocated",
    ),
    pytest.param(
        forged_signed_info_in_extensions,
        "assertion",
        {},
        "signature_invalid",
        id="S-10-forged-signedinfo-in-extensions",
    ),
    pytest.param(
        signature_in_status_detail,
        "assertion",
        {},
        "signature_invalid",
        id="S-12-signature-in-statusdetail-no-doctype",
    ),
]


@pytest.mark.parametrize(("mutate", "sign", "options", "reason"), WRAPPING)
def test_wrapping_is_refused(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    mutate: Mutator,
    sign: str,
    options: dict[str, Any],
    reason: str,
) -> None:
    accepted(golden_a, respond(golden_a, idp_keys, sign=sign), **options)
    attacked = respond(golden_a, idp_keys, sign=sign, mutate=mutate)
    assert refused(golden_a, attacked, **options).reason == reason


@pytest.mark.parametrize(
    ("mutate", "sign", "options"),
    [
        pytest.param(xsw1, "response", RAS_OFF, id="S-01"),
        pytest.param(xsw2, "response", RAS_OFF, id="S-02"),
        pytest.param(xsw3, "assertion", {}, id="S-03"),
        pytest.param(xsw4, "assertion", {}, id="S-04"),
        pytest.param(xsw5, "assertion", {}, id="S-05"),
        pytest.param(xsw6, "assertion", {}, id="S-06"),
        pytest.param(xsw7, "assertion", {}, id="S-07"),
        pytest.param(xsw8, "assertion", {}, id="S-08"),
        pytest.param(namespaced_id, "assertion", {}, id="S-09-namespaced-x-ID"),
    ],
)
def test_wrapping_is_still_refused_without_the_id_uniqueness_check(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    monkeypatch: pytest.MonkeyPatch,
    mutate: Mutator,
    sign: str,
    options: dict[str, Any],
) -> None:
    """Defence in depth: python3-saml's structural checks (one assertion, Reference = parent
    ID) stand behind `check_ids`, which answers first in the test above."""
    monkeypatch.setattr(validate, "check_ids", lambda root: None)
    attacked = respond(golden_a, idp_keys, sign=sign, mutate=mutate)
    reason = refused(golden_a, attacked, **options).reason
    assert reason in {"wrong_number_of_assertions", "bad_signature_structure"}


# -- S-09, S-11, S-12: the same recipes with a DOCTYPE, refused at parse -------------------


def test_s11_ruby_saml_parser_differential_dies_at_parse_before_any_signature_work(
    golden_a: GoldenConnection, idp_keys: IdpKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-11, CVE-2025-25291: `<!DOCTYPE response SYSTEM 'x"><!--'>` + CDATA, so two parsers
    read two documents. We have one parser, and it refuses any DTD."""
    verified: list[object] = []
    monkeypatch.setattr(validate, "verify_signature", lambda *a, **k: verified.append(a))
    original = respond(golden_a, idp_keys)
    evil_tree = lxml.etree.fromstring(original)
    make_evil(evil_tree)
    payload = cve_2025_25291(original, serialize(evil_tree))
    refusal = refused(golden_a, payload)
    assert (refusal.reason, refusal.detail) == ("malformed", "DTDForbidden")
    assert verified == []


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        pytest.param(
            lambda xml: cve_2025_25292_doctype(nonuri_namespace(xml)),
            "XMLSyntaxError",
            id="S-12-cve-2025-25292-attlist-doctype",
        ),
        pytest.param(cve_2025_25292_doctype, "DTDForbidden", id="S-12-attlist-doctype-only"),
        pytest.param(nonuri_namespace, "XMLSyntaxError", id="S-12-non-uri-namespace-no-doctype"),
    ],
)
def test_s12_namespace_confusion_is_refused_at_parse(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    payload: Callable[[bytes], bytes],
    detail: str,
) -> None:
    attacked = payload(
        respond(golden_a, idp_keys, sign="assertion", mutate=signature_in_status_detail)
    )
    refusal = refused(golden_a, attacked)
    assert (refusal.reason, refusal.detail) == ("malformed", detail)


def test_s09_xsw10_with_its_entity_id_trick_is_refused_at_parse(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-09, CVE-2025-23369: IDs assembled from entities to dodge an ID-uniqueness check."""
    attacked = cve_2025_23369_doctype(lxml.etree.fromstring(respond(golden_a, idp_keys)))
    refusal = refused(golden_a, attacked)
    assert (refusal.reason, refusal.detail) == ("malformed", "DTDForbidden")


# -- S-13, S-17: the unsigned envelope is not trusted ---------------------------------------


def test_s17_s13_signed_assertion_rewrapped_for_another_pending_request_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-17 (and the S-13 rule): the assertion, signed for request A, is put in an unsigned
    envelope whose InResponseTo now names request B, and posted into B's flow."""
    issued_for_a = respond(golden_a, idp_keys, sign="assertion", request_id=REQUEST_ID)
    sp = golden_a.open()
    rewrapped = lxml.etree.fromstring(issued_for_a)
    rewrapped.set("InResponseTo", OTHER_REQUEST_ID)
    refusal = sp.refusal(encode(serialize(rewrapped)), request_id=OTHER_REQUEST_ID)
    assert refusal.reason == "in_response_to_mismatch"
    # Untouched, it is a good answer to A.
    assert golden_a.open().login(encode(issued_for_a), request_id=REQUEST_ID).subject == ALICE


def test_s33_signed_response_whose_envelope_and_assertion_disagree_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-33/S-17: even under a valid Response signature, the assertion's own InResponseTo
    (request A) must not contradict the envelope's (request B, this flow's)."""
    data = respond(
        golden_a,
        idp_keys,
        request_id=REQUEST_ID,
        before=set_attribute(".", "InResponseTo", OTHER_REQUEST_ID),
    )
    sp = golden_a.open()
    assert sp.reason(encode(data), request_id=OTHER_REQUEST_ID) == "in_response_to_mismatch"
