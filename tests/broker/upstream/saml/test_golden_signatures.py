"""Who signed what, with which algorithm and key (docs/security.md S-14…S-24, S-43).

The trust anchor is the configured certificate list and nothing the response carries: KeyInfo
is neither needed nor trusted (S-18), rollover works by pinning both keys (S-43), and an
encrypted assertion is verified after decryption like any other (S-23). Constructs that would
make xmlsec reach outside the document (extra references, transforms, RetrievalMethod,
CipherReference) or weaken it (MD5, HMAC, DSA, RSA 1.5) are refused before verification or
decryption runs, which is why those cases watch an SSRF canary and a clock rather than only the
reason code. Each negative case asserts the exact reason code of the check that refuses it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from broker.upstream.saml import validate
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    ALICE,
    Encryption,
    GoldenConnection,
    Mutator,
    canary_server,
    certificates,
    encode,
    golden_response,
    golden_spec,
    serialize,
)
from tests.support.saml_golden_cases import FAST, RAS_OFF, accepted, refused, respond
from tests.support.saml_mutators import (
    DSA_SHA1,
    HMAC_SHA1,
    HMAC_SHA256,
    MD5,
    RSA_MD5,
    add_plain_assertion,
    cipher_reference,
    comment_split,
    drop_key_info,
    encrypted_attribute,
    encrypted_key_retrieval_method,
    extra_reference,
    key_info_retrieval_method,
    reference_uri,
    second_signed_assertion,
    set_algorithm,
    xpath_transform,
    xslt_transform,
)

# -- S-14: comments ---------------------------------------------------------------------------


def test_s14_comment_in_nameid_never_truncates_the_identity(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """S-14 (CVE-2017-11427 family): signed for `alice@example.com.evil.test`, then split by
    `<!---->`; the signature holds, and the identity is the whole string (the domain rule
    then refuses it: tests/broker/upstream/saml/test_login_scenarios.py)."""
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


def test_golden_responses_are_accepted_every_way_they_are_signed(
    golden_a: GoldenConnection, idp_keys: IdpKeys
) -> None:
    """The fixture itself: without an attack, each signing mode the cases use is accepted."""
    for sign, options in (("both", {}), ("assertion", {}), ("response", RAS_OFF)):
        identity = accepted(golden_a, respond(golden_a, idp_keys, sign=sign), **options)
        assert identity.given_name == "Alice"
        assert identity.groups == ("engineering", "admins")
