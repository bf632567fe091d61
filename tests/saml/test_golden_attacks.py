"""SECURITY-CATALOGUE §1, rows S-01…S-40 (and S-43): golden responses, attacked after signing.

Every case names its row in its test id. A negative case asserts the exact reason code of the
check that refuses it, so removing that check (or letting another one answer first) fails the
test. Where an attack needs a particular signing mode or connection option to be dangerous,
the case first proves the unattacked response is accepted under exactly that configuration:
the refusal is then the mutation's doing, nothing else's.

Connector-unit tests (no database) use `GoldenSp` with an in-memory replay guard; the cases
that need the web layer or the real replay store use the `world` / `store` fixtures.
"""

from __future__ import annotations

import ast
import base64
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.etree
import pytest
import sqlalchemy as sa

from broker.clock import FixedClock
from broker.errors import ConfigError
from broker.login.replays import StoreReplayGuard
from broker.store import Store
from broker.store.sql import SqlStore
from broker.upstream.base import UpstreamInvalid, UpstreamRejected
from broker.upstream.saml import validate
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys
from tests.support.config import ISSUER
from tests.support.saml_golden import (
    ALICE,
    DSA_SHA1,
    EVIL,
    HMAC_SHA1,
    HMAC_SHA256,
    IDP_ENTITY_ID,
    MD5,
    NOW,
    NS,
    OTHER_REQUEST_ID,
    REQUEST_ID,
    RSA_MD5,
    Encryption,
    GoldenConnection,
    Mutator,
    add_plain_assertion,
    append_unsigned_assertion,
    assertion_in_ds_object,
    billion_laughs,
    canary_server,
    certificates,
    cipher_reference,
    comment_split,
    cve_2025_23369_doctype,
    cve_2025_25291,
    cve_2025_25292_doctype,
    deep_nesting,
    drop_key_info,
    duplicate_id_before_assertion,
    encode,
    encrypted_attribute,
    encrypted_key_retrieval_method,
    external_dtd,
    extra_reference,
    forged_signed_info_in_extensions,
    golden_metadata,
    golden_response,
    golden_spec,
    key_info_retrieval_method,
    make_evil,
    namespaced_id,
    nonuri_namespace,
    reference_uri,
    relocate_assertion_signature,
    remove,
    second_signed_assertion,
    serialize,
    set_algorithm,
    set_attribute,
    set_status,
    signature_in_status_detail,
    with_doctype,
    xinclude,
    xpath_transform,
    xslt_transform,
    xsw1,
    xsw2,
    xsw3,
    xsw4,
    xsw5,
    xsw6,
    xsw7,
    xsw7_samlp_extensions,
    xsw8,
    xxe_file,
    xxe_parameter_entity,
)
from tests.support.saml_world import CONNECTION_ID, IDP_BASE, ORG_ID, PostBack, SamlWorld

RAS_OFF = {"require_assertion_signature": False}
SAML_RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#: Generous: a refusal before any crypto takes about a millisecond.
FAST = 1.0


def respond(
    connection: GoldenConnection,
    keys: IdpKeys,
    *,
    sign: Any = "both",
    mutate: Mutator | None = None,
    before: Mutator | None = None,
    encrypt: bool = False,
    algorithm: Any = "rsa-sha256",
    **spec_changes: Any,
) -> bytes:
    """A golden response for `connection`, optionally attacked after signing, as bytes."""
    root = golden_response(
        golden_spec(connection, **spec_changes),
        keys,
        sign=sign,
        before_signing=before,
        algorithm=algorithm,
        encrypt=Encryption(connection.encryption_certificate) if encrypt else None,
    )
    if mutate is not None:
        mutate(root)
    return serialize(root)


def accepted(connection: GoldenConnection, data: bytes, **options: Any) -> Any:
    identity = connection.open(**options).login(encode(data))
    assert identity.subject == ALICE
    assert identity.email == ALICE
    return identity


def refused(connection: GoldenConnection, data: bytes | str, **options: Any) -> UpstreamInvalid:
    saml_response = data if isinstance(data, str) else encode(data)
    return connection.open(**options).refusal(saml_response)


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


# -- S-11, S-12, S-25, S-26: DOCTYPEs and parser abuse ----------------------------------------


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


def test_s25_external_entity_is_refused_and_nothing_is_read(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-25: `<!ENTITY xxe SYSTEM "file:///etc/passwd">` in the NameID."""
    refusal = refused(golden_a, xxe_file(respond(golden_a, idp_keys)))
    assert (refusal.reason, refusal.detail) == ("malformed", "DTDForbidden")
    assert "root:" not in str(refusal)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda xml, url: xxe_parameter_entity(xml, url), id="S-25-parameter-entity"),
        pytest.param(lambda xml, url: external_dtd(xml, url), id="S-25-external-dtd"),
    ],
)
def test_s25_out_of_band_entities_fetch_nothing(
    golden_a: GoldenConnection, idp_keys: IdpKeys, payload: Callable[[bytes, str], bytes]
) -> None:
    with canary_server() as canary:
        attacked = payload(respond(golden_a, idp_keys), f"{canary.url}/evil.dtd")
        refusal = refused(golden_a, attacked)
    assert (refusal.reason, refusal.detail) == ("malformed", "DTDForbidden")
    assert canary.hits == []


def test_s25_xinclude_is_never_processed(golden_a: GoldenConnection, idp_keys: IdpKeys) -> None:
    """S-25: `xi:include` of the canary in the NameID; the schema refuses it (NameID is text)
    and nothing fetches it."""
    with canary_server() as canary:
        data = respond(golden_a, idp_keys, sign="assertion", mutate=xinclude(f"{canary.url}/x"))
        reason = refused(golden_a, data).reason
    assert reason == "schema_invalid"
    assert canary.hits == []


def test_s25_idp_metadata_with_a_doctype_is_refused(idp_keys: IdpKeys) -> None:
    """S-25/S-42: the same hardened parser reads uploaded IdP metadata."""
    metadata = with_doctype(
        golden_metadata(idp_keys), '<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    )
    with pytest.raises(ConfigError, match="DTDForbidden"):
        parse_idp_metadata(metadata)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(billion_laughs, "malformed", id="S-26-billion-laughs"),
        pytest.param(lambda xml: deep_nesting(xml, 5000), "malformed", id="S-26-deep-nesting"),
        pytest.param(
            lambda xml: xml.replace(b"Alice", b"A" * 5_000_000, 1),
            "response_too_large",
            id="S-26-5MB-text-node",
        ),
    ],
)
def test_s26_resource_exhaustion_is_refused_fast(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    payload: Callable[[bytes], bytes],
    reason: str,
) -> None:
    data = encode(payload(respond(golden_a, idp_keys)))
    sp = golden_a.open()
    started = time.perf_counter()
    assert sp.reason(data) == reason
    assert time.perf_counter() - started < FAST


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


# -- S-14: comments ---------------------------------------------------------------------------


def test_s14_comment_in_nameid_never_truncates_the_identity(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-14 (CVE-2017-11427 family): signed for `alice@example.com.evil.test`, then split by
    `<!---->`; the signature holds, and the identity is the whole string (the domain rule
    then refuses it: tests/saml/test_login_scenarios.py)."""
    full = f"{ALICE}.evil.test"
    data = respond(
        golden_a,
        idp_keys,
        mutate=comment_split(".evil.test"),
        name_id=full,
        attributes={"email": (full,)},
    )
    assert b"<!---->" in data
    identity = golden_a.open().login(encode(data))
    assert identity.subject == full
    assert identity.email == full
    assert identity.raw_attributes["saml_name_id"] == full


# -- S-15, S-16, S-18: who signed what --------------------------------------------------------


def test_s15_unsigned_response_is_refused(golden_a: GoldenConnection, idp_keys: IdpKeys) -> None:
    assert refused(golden_a, respond(golden_a, idp_keys, sign="none")).reason == "unsigned"
    assert refused(golden_a, respond(golden_a, idp_keys, sign="none"), **RAS_OFF).reason == (
        "unsigned"
    )


def test_s16_signed_response_with_unsigned_assertion_is_refused_by_default(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys, sign="response")
    assert refused(golden_a, data).reason == "assertion_unsigned"


def test_s16_signed_response_with_unsigned_assertion_is_accepted_when_configured(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    accepted(golden_a, respond(golden_a, idp_keys, sign="response"), **RAS_OFF)


@pytest.mark.parametrize("sign", ["assertion", "response", "both"])
def test_s18_signature_by_another_key_with_its_cert_in_keyinfo_is_refused(
    golden_a: GoldenConnection, attacker_keys: IdpKeys, sign: str
) -> None:
    data = respond(golden_a, attacker_keys, sign=sign)
    assert attacker_keys.certificate_base64()[:40].encode() in data
    assert refused(golden_a, data, **RAS_OFF).reason == "signature_invalid"


@pytest.mark.parametrize(
    ("sign", "options"),
    [
        pytest.param("assertion", {}, id="assertion"),
        pytest.param("response", RAS_OFF, id="response"),
    ],
)
def test_s18_signature_without_keyinfo_verifies_with_the_pinned_certificate(
    golden_a: GoldenConnection, idp_keys: IdpKeys, sign: str, options: dict[str, Any]
) -> None:
    """S-18, and the intent of the real-IdP `no-certificate` case: the configured certificate
    is the trust anchor, KeyInfo is neither needed nor trusted."""
    data = respond(golden_a, idp_keys, sign=sign, mutate=drop_key_info)
    assert b"KeyInfo" not in data
    accepted(golden_a, data, **options)


# -- S-19: same IdP behind two connections ----------------------------------------------------


def test_s19_response_for_connection_b_posted_to_connection_a_is_refused(
    golden_a: GoldenConnection, golden_b: GoldenConnection, idp_keys: IdpKeys
) -> None:
    for_b = respond(golden_b, idp_keys)
    accepted(golden_b, for_b)
    assert refused(golden_a, for_b).reason == "wrong_destination"
    # B's assertion in an envelope with A's addressing: the signed Audience still says B.
    for_b_audience = respond(golden_a, idp_keys, audience=golden_b.entity_id)
    assert refused(golden_a, for_b_audience).reason == "wrong_audience"


# -- S-20: algorithms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "algorithm", "allow_sha1"),
    [
        pytest.param(None, "rsa-sha1", False, id="S-20-rsa-sha1"),
        pytest.param(None, "rsa-sha1+sha256-digest", False, id="S-20-rsa-sha1-method-only"),
        pytest.param(None, "rsa-sha256+sha1-digest", False, id="S-20-sha1-digest-only"),
        pytest.param(
            set_algorithm("SignatureMethod", RSA_MD5), "rsa-sha256", True, id="S-20-rsa-md5"
        ),
        pytest.param(set_algorithm("DigestMethod", MD5), "rsa-sha256", True, id="S-20-md5-digest"),
        pytest.param(
            set_algorithm("SignatureMethod", HMAC_SHA1), "rsa-sha256", True, id="S-20-hmac-sha1"
        ),
        pytest.param(
            set_algorithm("SignatureMethod", HMAC_SHA256), "rsa-sha256", True, id="S-20-hmac-sha256"
        ),
        pytest.param(
            set_algorithm("SignatureMethod", DSA_SHA1), "rsa-sha256", True, id="S-20-dsa-sha1"
        ),
    ],
)
def test_s20_weak_algorithms_are_refused_before_verification(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    monkeypatch: pytest.MonkeyPatch,
    mutate: Mutator | None,
    algorithm: str,
    allow_sha1: bool,
) -> None:
    """MD5, HMAC and DSA are refused even on a connection that allows SHA-1."""
    verified: list[object] = []
    monkeypatch.setattr(validate, "verify_signature", lambda *a, **k: verified.append(a))
    data = respond(golden_a, idp_keys, algorithm=algorithm, mutate=mutate)
    assert refused(golden_a, data, allow_sha1=allow_sha1).reason == "weak_algorithm"
    assert verified == []


def test_s20_sha1_is_accepted_only_when_the_connection_allows_it(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    accepted(golden_a, respond(golden_a, idp_keys, algorithm="rsa-sha1"), allow_sha1=True)


# -- S-21: references and transforms that reach outside ------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda url: extra_reference(f"{url}/reference"), id="S-21-extra-reference"),
        pytest.param(lambda url: reference_uri(f"{url}/reference"), id="S-21-reference-uri"),
        pytest.param(lambda url: xslt_transform(f"{url}/xslt"), id="S-21-xslt-transform"),
        pytest.param(lambda url: xpath_transform(), id="S-21-xpath-transform"),
        pytest.param(
            lambda url: key_info_retrieval_method(f"{url}/key"), id="S-21-keyinfo-retrievalmethod"
        ),
    ],
)
def test_s21_signature_reaching_outside_is_refused_before_xmlsec_dereferences_it(
    golden_a: GoldenConnection, idp_keys: IdpKeys, attack: Callable[[str], Mutator]
) -> None:
    with canary_server() as canary:
        data = encode(respond(golden_a, idp_keys, mutate=attack(canary.url)))
        sp = golden_a.open()
        started = time.perf_counter()
        reason = sp.reason(data)
        elapsed = time.perf_counter() - started
    assert reason == "bad_signature_structure"
    assert canary.hits == []
    assert elapsed < FAST


def test_s21_reference_to_dev_zero_is_refused_without_reading_it(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """Without the shape check libxmlsec1 reads `file:///dev/zero` forever (it releases the
    GIL, so a regression fails here after the timeout instead of hanging the run)."""
    data = encode(respond(golden_a, idp_keys, mutate=extra_reference("file:///dev/zero")))
    sp = golden_a.open()
    reasons: list[str] = []
    worker = threading.Thread(target=lambda: reasons.append(sp.reason(data)), daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "still reading /dev/zero"
    assert reasons == ["bad_signature_structure"]


# -- S-22, S-23: encrypted assertions -----------------------------------------------------------


@pytest.mark.parametrize("sign", ["assertion", "both"])
def test_s22_aes256_gcm_rsa_oaep_encrypted_assertion_is_accepted(
    golden_a: GoldenConnection, idp_keys: IdpKeys, sign: str
) -> None:
    data = respond(golden_a, idp_keys, sign=sign, encrypt=True)
    assert b"EncryptedAssertion" in data
    assert ALICE.encode() not in data
    accepted(golden_a, data)
    accepted(golden_a, data, require_encrypted_assertion=True)


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda url: cipher_reference(f"{url}/cipher"), id="S-22-cipherreference"),
        pytest.param(
            lambda url: encrypted_key_retrieval_method(f"{url}/key"),
            id="S-22-retrievalmethod-outside",
        ),
    ],
)
def test_s22_encrypted_assertion_reaching_outside_is_refused_before_decryption(
    golden_a: GoldenConnection, idp_keys: IdpKeys, attack: Callable[[str], Mutator]
) -> None:
    with canary_server() as canary:
        data = respond(
            golden_a, idp_keys, sign="assertion", encrypt=True, mutate=attack(canary.url)
        )
        reason = refused(golden_a, data).reason
    assert reason == "bad_encryption_structure"
    assert canary.hits == []


def test_s22_rsa_1_5_key_transport_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """Bleichenbacher-prone PKCS#1 v1.5 key transport: refused before decryption."""
    root = golden_response(
        golden_spec(golden_a),
        idp_keys,
        sign="assertion",
        encrypt=Encryption(golden_a.encryption_certificate, key_transport="rsa-1_5"),
    )
    assert refused(golden_a, serialize(root)).reason == "weak_algorithm"


def test_s23_plaintext_assertion_when_encryption_is_required_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys)
    assert refused(golden_a, data, require_encrypted_assertion=True).reason == (
        "encryption_required"
    )


def test_s23_encrypted_and_plaintext_assertion_together_are_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    spec = golden_spec(golden_a)
    root = golden_response(
        spec, idp_keys, sign="assertion", encrypt=Encryption(golden_a.encryption_certificate)
    )
    add_plain_assertion(spec, idp_keys)(root)
    assert refused(golden_a, serialize(root)).reason == "wrong_number_of_assertions"


def test_s23_encrypted_attribute_is_refused(golden_a: GoldenConnection, idp_keys: IdpKeys) -> None:
    """python3-saml cannot read EncryptedAttribute; a signed assertion carrying one is refused
    rather than silently losing attributes."""
    data = respond(golden_a, idp_keys, before=encrypted_attribute)
    assert b"EncryptedAttribute" in data
    assert refused(golden_a, data).reason == "bad_subject"


@pytest.mark.parametrize(
    ("keys_name", "sign", "reason"),
    [
        pytest.param("attacker_keys", "assertion", "signature_invalid", id="S-23-foreign-key"),
        pytest.param("idp_keys", "response", "assertion_unsigned", id="S-23-unsigned-inside"),
    ],
)
def test_s23_the_decrypted_assertion_is_verified_too(
    golden_a: GoldenConnection,
    request: pytest.FixtureRequest,
    keys_name: str,
    sign: str,
    reason: str,
) -> None:
    keys: IdpKeys = request.getfixturevalue(keys_name)
    data = respond(golden_a, keys, sign=sign, encrypt=True)
    assert refused(golden_a, data).reason == reason


# -- S-24: several assertions ----------------------------------------------------------------


def test_s24_two_signed_assertions_are_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    spec = golden_spec(golden_a)
    data = respond(
        golden_a, idp_keys, sign="assertion", mutate=second_signed_assertion(spec, idp_keys)
    )
    assert refused(golden_a, data).reason == "wrong_number_of_assertions"


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


# -- S-33, S-34: request binding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign", "changes", "reason"),
    [
        pytest.param(
            "both",
            {"request_id": OTHER_REQUEST_ID},
            "in_response_to_mismatch",
            id="S-33-other-request",
        ),
        pytest.param(
            "assertion",
            {"request_id": OTHER_REQUEST_ID},
            "in_response_to_mismatch",
            id="S-33-other-request-assertion-signed",
        ),
        pytest.param("both", {"request_id": None}, "unsolicited", id="S-34-no-inresponseto"),
        pytest.param(
            "assertion",
            {"request_id": None},
            "unsolicited",
            id="S-34-no-inresponseto-assertion-signed",
        ),
    ],
)
def test_s33_s34_response_must_answer_this_flows_request(
    golden_a: GoldenConnection,
    idp_keys: IdpKeys,
    sign: str,
    changes: dict[str, Any],
    reason: str,
) -> None:
    """S-33 (a, b) here; (c) another browser and (d) a consumed request are end-to-end tests
    in test_login_scenarios.py (browser_mismatch, flow_expired)."""
    data = respond(golden_a, idp_keys, sign=sign, **changes)
    assert refused(golden_a, data).reason == reason


def test_s34_idp_initiated_path_refuses_a_response_that_names_a_request(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The IdP-initiated path (request_id None; not enabled for any connection) must not
    accept an answer to someone else's request."""
    settings, keys = golden_a.validation_inputs()
    expect = validate.Expectations(
        idp_entity_id=IDP_ENTITY_ID,
        sp_entity_id=golden_a.entity_id,
        acs_url=golden_a.acs_url,
        request_id=None,
        now=NOW,
        skew=timedelta(seconds=120),
        allow_sha1=False,
        require_assertion_signature=True,
        require_encrypted_assertion=False,
    )
    solicited = encode(respond(golden_a, idp_keys))
    auth = validate.authenticate(solicited, settings=settings, keys=keys, expect=expect)
    with pytest.raises(validate.SamlInvalid) as caught:
        validate.check_assertion(auth, expect)
    assert caught.value.reason == "in_response_to_mismatch"
    unsolicited = encode(respond(golden_a, idp_keys, request_id=None))
    auth = validate.authenticate(unsolicited, settings=settings, keys=keys, expect=expect)
    assert validate.check_assertion(auth, expect).name_id == ALICE


# -- S-35: replay -----------------------------------------------------------------------------


def test_s35_the_same_response_is_accepted_once(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = encode(respond(golden_a, idp_keys))
    sp = golden_a.open()
    assert sp.login(data).subject == ALICE
    assert sp.reason(data) == "replayed"
    # Reported as a replay whichever flow it is posted into.
    assert sp.reason(data, request_id=OTHER_REQUEST_ID) == "replayed"


def test_s35_parallel_replays_succeed_exactly_once(
    golden_a: GoldenConnection, idp_keys: IdpKeys, store: Store
) -> None:
    """Ten concurrent POSTs of one response, against the real replay store."""
    guard = StoreReplayGuard(store, FixedClock(NOW))
    sp = golden_a.open(replays=guard)
    data = encode(respond(golden_a, idp_keys))

    def attempt(_: int) -> str:
        try:
            return sp.login(data).subject
        except UpstreamInvalid as exc:
            return exc.reason

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(10)))
    assert sorted(outcomes) == [ALICE] + ["replayed"] * 9


# -- S-36, S-37: status and subject ------------------------------------------------------------


def test_s36_error_status_with_an_assertion_attached_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-36: the assertion carried by a Responder status is never used."""
    data = respond(golden_a, idp_keys, before=set_status(SAML_RESPONDER))
    assert b"<saml:Assertion" in data
    with pytest.raises(UpstreamRejected) as caught:
        golden_a.open().login(encode(data))
    assert caught.value.reason == "Responder"


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


# -- S-39: size and encoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("saml_response", "reason"),
    [
        pytest.param("A" * 300 * 1024, "response_too_large", id="S-39-300KB"),
        pytest.param("not base64!", "malformed", id="S-39-not-base64"),
        pytest.param("PHNhbWxwOlJlc3BvbnNl\x00", "malformed", id="S-39-nul"),
        pytest.param("", "missing_response", id="S-39-empty"),
    ],
)
def test_s39_size_and_encoding_are_checked_first(
    golden_a: GoldenConnection, saml_response: str, reason: str
) -> None:
    sp = golden_a.open()
    started = time.perf_counter()
    assert sp.reason(saml_response) == reason
    assert time.perf_counter() - started < FAST


def test_s39_a_golden_response_padded_past_the_cap_is_refused(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    data = respond(golden_a, idp_keys)
    padded = encode(data.replace(b"?>", b"?>" + b" " * (300 * 1024), 1))
    assert refused(golden_a, padded).reason == "response_too_large"


# -- S-43: certificate rollover ---------------------------------------------------------------


def test_s43_either_pinned_certificate_verifies_and_a_removed_one_no_longer_does(
    golden_a: GoldenConnection, idp_keys: IdpKeys, rollover_keys: IdpKeys
) -> None:
    both = {"idp_certificates": certificates(idp_keys, rollover_keys)}
    accepted(golden_a, respond(golden_a, idp_keys), **both)
    accepted(golden_a, respond(golden_a, rollover_keys), **both)
    new_only = {"idp_certificates": certificates(rollover_keys)}
    accepted(golden_a, respond(golden_a, rollover_keys), **new_only)
    assert refused(golden_a, respond(golden_a, idp_keys), **new_only).reason == (
        "signature_invalid"
    )


def test_s41_no_single_logout_is_offered(golden_a: GoldenConnection) -> None:
    """S-41 does not apply: Gatehouse exposes no SLO endpoint and advertises none."""
    metadata = golden_a.open().connector.describe().body
    assert b"SingleLogoutService" not in metadata


# -- S-40: one parser ---------------------------------------------------------------------------

BROKER = Path(__file__).resolve().parents[2] / "broker"
SAML_PACKAGE = BROKER / "upstream" / "saml"
XML_LIBRARIES = {"lxml", "xml", "defusedxml", "xmlsec", "onelogin", "saml2"}
PARSE_CALLS = {
    "fromstring",
    "fromstringlist",
    "XML",
    "XMLID",
    "parse",
    "iterparse",
    "XMLParser",
    "XMLPullParser",
    "HTML",
    "parseString",
    "to_etree",
    "_parse_etree",
}


#: Same method names, nothing to do with XML.
NOT_XML = {"SamlConnectionConfig.parse"}


def _imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_s40_no_module_outside_the_saml_package_imports_an_xml_library() -> None:
    offenders = {
        str(path.relative_to(BROKER.parent)): sorted(
            _imported_roots(ast.parse(path.read_text())) & XML_LIBRARIES
        )
        for path in BROKER.rglob("*.py")
        if SAML_PACKAGE not in path.parents
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_s40_inside_the_saml_package_only_python3_saml_parses_untrusted_xml() -> None:
    """The SAMLResponse is parsed once, by python3-saml's hardened `to_etree` (inside
    `OneLogin_Saml2_Response`); IdP metadata by `to_etree` too; the only other parse is the
    protocol XSD shipped with python3-saml."""
    calls = set()
    for path in sorted(SAML_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in PARSE_CALLS
                and ast.unparse(node.func) not in NOT_XML
            ):
                calls.add((path.name, ast.unparse(node)))
    assert calls == {
        ("idp_metadata.py", "OneLogin_Saml2_XML.to_etree(document)"),
        ("xmlsig.py", "etree.parse(str(_SCHEMA_PATH))"),
    }
    validate_source = (SAML_PACKAGE / "validate.py").read_text()
    assert "class _Response(OneLogin_Saml2_Response)" in validate_source
    assert validate_source.count("_Response(settings,") == 1


def test_s40_a_login_parses_the_response_exactly_once_with_python3_saml(
    golden_a: GoldenConnection, idp_keys: IdpKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At run time: every lxml parse during a login (plain and encrypted) comes from
    python3-saml's hardened parser module, once."""
    data = [
        encode(respond(golden_a, idp_keys)),
        encode(respond(golden_a, idp_keys, sign="assertion", encrypt=True)),
    ]
    golden_a.open().login(data[0])  # warm the per-thread XSD cache
    data[0] = encode(respond(golden_a, idp_keys))
    callers: list[tuple[str, str]] = []
    for name in ("fromstring", "fromstringlist", "XML", "parse", "iterparse"):
        original = getattr(lxml.etree, name)

        def spy(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            callers.append((_name, traceback.extract_stack()[-2].filename))
            return _original(*args, **kwargs)

        monkeypatch.setattr(lxml.etree, name, spy)
    for saml_response in data:
        callers.clear()
        assert golden_a.open().login(saml_response).subject == ALICE
        assert len(callers) == 1, callers
        name, filename = callers[0]
        assert name == "fromstring"
        assert filename.endswith("onelogin/saml2/xmlparser.py")


# -- End to end: S-38 RelayState, S-27 Host header ---------------------------------------------


def _failures(world: SamlWorld) -> list[str | None]:
    with world.store.unit_of_work() as uow:
        return [e.reason for e in uow.audit.list(organization_id=ORG_ID, kind="login.failed")]


RELAY_STATES = [
    "https://evil.test/",
    "//evil.test",
    "/\\evil.test",
    "javascript:alert(1)",
    "https://gatehouse.test.evil.test/",
    "x" * 200,
]


def test_s38_relay_state_is_a_flow_id_never_a_redirect(world: SamlWorld) -> None:
    """S-38: a URL as RelayState is just an unknown flow: the expired-sign-in page, no
    Location, and the real flow is untouched (its own RelayState still completes it)."""
    _, to_idp = world.start()
    postback = world.at_idp(to_idp)
    for relay_state in RELAY_STATES:
        hijacked = PostBack(postback.acs_url, {**postback.fields, "RelayState": relay_state})
        back = world.post(hijacked)
        assert back.status_code == 400, relay_state
        assert "location" not in back.headers
        assert "This sign-in has expired" in back.text
        assert "evil" not in back.text
    assert _failures(world) == ["flow_expired"] * len(RELAY_STATES)
    assert world.post(postback).status_code == 302


def test_s27_destination_is_never_derived_from_the_host_header(
    world: SamlWorld, idp_keys: IdpKeys
) -> None:
    """S-27: a response addressed to `https://evil.test/...` posted with `Host: evil.test`
    is still compared with the configured ACS URL."""
    _, to_idp = world.start()
    postback = world.at_idp(to_idp)
    request_id = _in_response_to(postback)
    evil_acs = postback.acs_url.replace(ISSUER, "https://evil.test")
    connection = GoldenConnection(
        stored={}, endpoints=endpoints_for("https://evil.test", CONNECTION_ID, "saml")
    )
    data = respond(
        connection,
        idp_keys,
        request_id=request_id,
        issuer=f"{IDP_BASE}/metadata",
        audience=endpoints_for(ISSUER, CONNECTION_ID, "saml").entity_id,
    )
    assert evil_acs.encode() in data
    back = world.gatehouse.client.post(
        postback.acs_path,
        data={"SAMLResponse": encode(data), "RelayState": postback.fields["RelayState"]},
        headers={"host": "evil.test"},
        follow_redirects=False,
    )
    assert back.status_code == 400, back.text
    assert _failures(world) == ["wrong_destination"]
    assert _identities(world) == 0


def _in_response_to(postback: PostBack) -> str:
    root = lxml.etree.fromstring(base64.b64decode(postback.fields["SAMLResponse"]))
    value = root.get("InResponseTo")
    assert value
    return str(value)


def _identities(world: SamlWorld) -> int:
    assert isinstance(world.store, SqlStore)
    with world.store.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM identities")).scalar_one())


def test_golden_responses_are_accepted_every_way_they_are_signed(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The fixture itself: without an attack, each signing mode the cases use is accepted."""
    for sign, options in (("both", {}), ("assertion", {}), ("response", RAS_OFF)):
        identity = accepted(golden_a, respond(golden_a, idp_keys, sign=sign), **options)
        assert identity.given_name == "Alice"
        assert identity.groups == ("engineering", "admins")
