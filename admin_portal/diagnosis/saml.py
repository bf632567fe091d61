"""Diagnoses of a SAML test login's refusals, one per reason the SAML connector gives
(broker/upstream/saml), each with the facts it recorded and the fix in the vendor's words."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from admin_portal.diagnosis.case import (
    Case,
    audience_row,
    clock_diagnosis,
    issuer_row,
)
from admin_portal.diagnosis.model import Diagnosis, FixStep, Row
from broker.model.reasons import Reason, idp_code

_TEST_AGAIN = FixStep("Save the change there, then run the test again.")


def expired(case: Case) -> Diagnosis:
    return clock_diagnosis(case, "The response had expired when it arrived", late=True)


def not_yet_valid(case: Case) -> Diagnosis:
    return clock_diagnosis(case, "The response is not valid yet: the clocks disagree", late=False)


def wrong_audience(case: Case) -> Diagnosis:
    none = case.fact("actual_audience") == "(none)"
    return case.diagnosis(
        "The response names no audience"
        if none
        else "The response is meant for another application (wrong audience)",
        "Every SAML response names the application it is for (its Audience), and it must "
        "be Gatehouse's SP entity ID for this connection. Your identity provider sent "
        + (
            "none."
            if none
            else "another value: the application's identifier there is "
            "not the one Gatehouse gave you."
        ),
        rows=(audience_row(case),),
        fix=(case.step("audience", case.fact("expected_audience")), _TEST_AGAIN),
    )


def wrong_destination(case: Case) -> Diagnosis:
    field = case.fact("destination_field", "Destination")
    return case.diagnosis(
        "The response was sent for another address (wrong destination)",
        f"The response's {field} must be Gatehouse's ACS URL for this connection, exactly. "
        "Your identity provider has another URL for this application: it sent the response "
        "to Gatehouse, but addressed it elsewhere.",
        rows=(
            Row(
                f"ACS URL ({field})",
                case.fact("expected_destination"),
                case.fact("actual_destination"),
            ),
        ),
        fix=(case.step("acs", case.fact("expected_destination")), _TEST_AGAIN),
    )


def wrong_issuer(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response comes from an unexpected issuer",
        "The response is signed by a certificate Gatehouse trusts, but names another issuer "
        "(IdP entity ID) than the one in Gatehouse's settings. Usually the settings were "
        "copied from another application or an older metadata document.",
        rows=(issuer_row(case, "Issuer (IdP entity ID)"),),
        fix=(
            case.step("idp_issuer"),
            FixStep(
                "Or set Gatehouse's IdP entity ID to the issuer your identity provider sends:",
                case.fact("actual_issuer"),
            ),
        ),
    )


def unsigned(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response is not signed"
        if case.reason is Reason.UNSIGNED
        else "The assertion itself is not signed",
        "Gatehouse accepts only signed answers: without a signature anyone could send one."
        + (
            " This connection also requires the assertion itself to be signed."
            if case.reason is Reason.ASSERTION_UNSIGNED
            else ""
        ),
        rows=(
            Row("Response signed", "yes", case.fact("response_signed")),
            Row(
                "Assertion signed",
                "yes" if case.reason is Reason.ASSERTION_UNSIGNED else "yes (or the response)",
                case.fact("assertion_signed"),
            ),
        ),
        fix=(case.step("signing"), _TEST_AGAIN),
    )


def signature_invalid(case: Case) -> Diagnosis:
    trusted = case.fact("trusted_fingerprints", "(none)")
    return case.diagnosis(
        "Signed with a certificate Gatehouse does not trust",
        "The signature does not verify with any certificate in Gatehouse's settings. Usually "
        "your identity provider signs with a new certificate (a rotation) that Gatehouse has "
        "not been given, or the settings hold another application's certificate. Compare "
        "the fingerprints: the one in the response is what your identity provider uses now.",
        rows=(
            Row(
                "Signing certificate (SHA-256 fingerprint)",
                trusted,
                case.fact("response_fingerprint"),
            ),
            *(
                (Row("Certificate in the response", "", case.fact("response_certificate_subject")),)
                if "response_certificate_subject" in case.facts
                else ()
            ),
        ),
        fix=(case.step("certificate"),),
    )


def weak_algorithm(case: Case) -> Diagnosis:
    algorithm = next(
        (
            case.fact(name)
            for name in (
                "signature_algorithm",
                "digest_algorithm",
                "canonicalization",
                "encryption_algorithm",
                "key_transport_algorithm",
            )
            if name in case.facts
        ),
        "(not reported)",
    )
    if "encryption_algorithm" in case.facts or "key_transport_algorithm" in case.facts:
        return case.diagnosis(
            "The assertion is encrypted with an algorithm Gatehouse refuses",
            "Gatehouse decrypts AES-GCM content (AES-CBC where the connection allows it) "
            "with keys sent by RSA-OAEP only; 3DES and RSA 1.5 can be broken.",
            rows=(Row("Encryption algorithm", "AES-GCM with RSA-OAEP", algorithm),),
            fix=(case.step("encryption"), _TEST_AGAIN),
        )
    sha1 = "sha1" in algorithm.lower()
    return case.diagnosis(
        "The response is signed with SHA-1"
        if sha1
        else "The response is signed with an algorithm Gatehouse refuses",
        "SHA-1 signatures can be forged and are refused."
        if sha1
        else "Gatehouse verifies RSA or ECDSA signatures with SHA-256 or stronger only.",
        rows=(Row("Signature algorithm", "RSA-SHA256 (or stronger)", algorithm),),
        fix=(case.step("sha256"), _TEST_AGAIN),
    )


def in_response_to_mismatch(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response answers another login request",
        "A SAML response names the request it answers (InResponseTo); this one does not "
        "name the test login Gatehouse started. It can be an older response (the browser's "
        "back button, a bookmark of the IdP's login page) or an identity provider that "
        "answers from a cached request.",
        rows=(
            Row(
                "InResponseTo",
                case.fact("expected_in_response_to"),
                case.fact("actual_in_response_to"),
            ),
        ),
        fix=(
            FixStep(
                "Start a new test from this portal, and sign in from the page it opens "
                "(not from a bookmark or the IdP's dashboard)."
            ),
        ),
    )


def unsolicited(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response was not asked for (IdP-initiated login)",
        "The response answers no request (no InResponseTo): it was started at the identity "
        "provider, for example from a dashboard tile. Gatehouse accepts only logins the "
        "application started, which protects your people from forged logins.",
        rows=(
            Row(
                "InResponseTo",
                case.fact("expected_in_response_to"),
                case.fact("actual_in_response_to"),
            ),
        ),
        fix=(FixStep("Start the test from this portal, not from your identity provider."),),
    )


def wrong_number_of_assertions(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response carries more than one assertion",
        "Gatehouse accepts exactly one signed assertion per response. A response with an "
        "extra, unsigned assertion is the shape of a signature-wrapping attack, in which a "
        "forged identity hides beside a genuine signed one; an identity provider should "
        "never send it.",
        rows=(Row("Assertions", "1", case.fact("assertion_count")),),
        fix=(
            FixStep(
                "Run the test again. If it keeps happening, something between your identity "
                "provider and this browser changes the response: tell your security team, "
                "with the reference below."
            ),
            case.step("logs"),
        ),
    )


def replayed(case: Case) -> Diagnosis:
    return case.diagnosis(
        "This response was already used",
        "Every SAML assertion may be used once. This one was accepted before, so it was "
        "sent again: a reload of the identity provider's last page, or a replay.",
        rows=(Row("Assertion ID", "not seen before", f"{case.fact('assertion_id')} (seen)"),),
        fix=(FixStep("Start a new test from this portal."),),
    )


def malformed(case: Case) -> Diagnosis:
    if case.facts.get("encrypted_assertion") == "yes":
        return encrypted(case)
    return case.diagnosis(
        "The response could not be read",
        "The SAMLResponse is not a SAML 2.0 response Gatehouse can parse safely (for "
        "example it uses a document type declaration, or is not XML).",
        fix=(case.step("logs"),),
    )


def encrypted(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The encrypted assertion could not be decrypted",
        "Your identity provider encrypts the assertion, but not to Gatehouse's encryption "
        "certificate for this connection (or with an algorithm Gatehouse does not use).",
        rows=(Row("Assertion encrypted to", "Gatehouse's encryption certificate", "another key"),),
        fix=(case.step("encryption"), _TEST_AGAIN),
    )


def cbc_not_enabled(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The assertion is encrypted with AES-CBC, which this connection does not accept",
        "AES-CBC does not protect the encrypted assertion from being altered, and Gatehouse "
        "decrypts before it can check the signature, so it accepts AES-GCM unless the "
        "connection has been set to allow AES-CBC for an identity provider without AES-GCM.",
        rows=(
            Row("Encryption algorithm", "AES-GCM", case.fact("encryption_algorithm")),
            Row("AES-CBC allowed for this connection", "", case.fact("allow_cbc_encryption")),
        ),
        fix=(case.step("gcm"), _TEST_AGAIN),
    )


def encryption_required(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The assertion must be encrypted",
        "This connection requires encrypted assertions, and this one arrived in clear.",
        rows=(Row("Assertion encrypted", "yes", "no"),),
        fix=(case.step("encryption"), _TEST_AGAIN),
    )


def unsafe_structure(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The response's structure is refused",
        "The response has a shape Gatehouse refuses for safety (duplicate IDs, a signature "
        "that points elsewhere, or XML the SAML schema does not allow). Identity providers "
        "do not send this on their own.",
        fix=(
            FixStep("Run the test again; if it persists, send the reference below."),
            case.step("logs"),
        ),
    )


def no_response(case: Case) -> Diagnosis:
    return case.diagnosis(
        "No usable SAML response arrived",
        "The answer carried no SAMLResponse, or one larger than Gatehouse accepts.",
        fix=(case.step("acs"),),
    )


def subject_confirmation_invalid(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The assertion's subject confirmation is incomplete",
        "A browser-SSO assertion must carry a bearer SubjectConfirmation with Gatehouse's "
        "ACS URL as Recipient and an expiry (NotOnOrAfter).",
        rows=(
            Row("SubjectConfirmation", "bearer, Recipient, NotOnOrAfter", case.fact("problems")),
        ),
        fix=(case.step("acs"),),
    )


def missing_authn_statement(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The assertion says nothing about the login",
        "A browser-SSO assertion must carry one AuthnStatement (when and how the user "
        "signed in). This one has none.",
        fix=(case.step("logs"),),
    )


def missing_subject(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The assertion names no usable user",
        "The assertion has no NameID Gatehouse can read.",
        fix=(case.step("nameid"), _TEST_AGAIN),
    )


def ambiguous_email(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The email attribute has several values",
        "Gatehouse identifies people by one email address; the attribute it reads the "
        "email from carried several different ones.",
        rows=(Row("Email values", "one address", case.fact("email_values")),),
        fix=(case.step("attributes"), _TEST_AGAIN),
    )


def transient_nameid(case: Case) -> Diagnosis:
    return case.diagnosis(
        "The user's NameID changes at every login (transient)",
        "A transient NameID is a new random value at each login, so Gatehouse could not "
        "recognize the same person next time.",
        rows=(Row("NameID format", "persistent or emailAddress", case.fact("name_id_format")),),
        fix=(case.step("nameid"), _TEST_AGAIN),
    )


def status(case: Case) -> Diagnosis:
    """The IdP answered with a non-success status: it refused to sign the user in."""
    codes = case.fact("status_code", idp_code(case.code))
    if "AuthnFailed" in codes:
        title = "Your identity provider could not sign the user in"
        text = "It reports that the authentication failed (AuthnFailed)."
        steps = (case.step("assignment"), case.step("logs"))
    elif "RequestDenied" in codes:
        title = "Your identity provider denied the login"
        text = "It refused the request (RequestDenied): usually the user is not allowed to "
        text += "use this application."
        steps = (case.step("assignment"), case.step("logs"))
    elif "RequestUnsupported" in codes or "InvalidNameIDPolicy" in codes:
        title = "Your identity provider cannot answer Gatehouse's request"
        text = "It does not support what the request asks for (a NameID format, say)."
        steps = (case.step("nameid"), case.step("logs"))
    else:
        title = "Your identity provider reported an error"
        text = (
            "It answered with a failure status instead of an assertion: a problem on its "
            "side, or with this application's settings there."
        )
        steps = (case.step("logs"), case.step("assignment"))
    return case.diagnosis(
        title,
        text,
        rows=(Row("Status", "Success", codes),),
        fix=steps,
        idp_said=case.facts.get("status_message") or None,
    )


#: Every reason the SAML connector gives (`SAML_REASONS`) has its diagnosis here or in
#: `COMMON_DIAGNOSES`; the tests enumerate them.
SAML_DIAGNOSES: Mapping[Reason, Callable[[Case], Diagnosis]] = {
    Reason.IDP_REFUSED: status,
    Reason.EXPIRED: expired,
    Reason.NOT_YET_VALID: not_yet_valid,
    Reason.WRONG_AUDIENCE: wrong_audience,
    Reason.MISSING_AUDIENCE: wrong_audience,
    Reason.WRONG_DESTINATION: wrong_destination,
    Reason.WRONG_ISSUER: wrong_issuer,
    Reason.UNSIGNED: unsigned,
    Reason.ASSERTION_UNSIGNED: unsigned,
    Reason.SIGNATURE_INVALID: signature_invalid,
    Reason.WEAK_ALGORITHM: weak_algorithm,
    Reason.IN_RESPONSE_TO_MISMATCH: in_response_to_mismatch,
    Reason.UNSOLICITED: unsolicited,
    Reason.WRONG_NUMBER_OF_ASSERTIONS: wrong_number_of_assertions,
    Reason.REPLAYED: replayed,
    Reason.MALFORMED: malformed,
    Reason.ENCRYPTION_REQUIRED: encryption_required,
    Reason.CBC_NOT_ENABLED: cbc_not_enabled,
    Reason.BAD_ENCRYPTION_STRUCTURE: encrypted,
    Reason.DUPLICATE_ID: unsafe_structure,
    Reason.BAD_SIGNATURE_STRUCTURE: unsafe_structure,
    Reason.SCHEMA_INVALID: unsafe_structure,
    Reason.MISSING_RESPONSE: no_response,
    Reason.RESPONSE_TOO_LARGE: no_response,
    Reason.SUBJECT_CONFIRMATION_INVALID: subject_confirmation_invalid,
    Reason.MISSING_AUTHN_STATEMENT: missing_authn_statement,
    Reason.BAD_SUBJECT: missing_subject,
    Reason.MISSING_NAMEID: missing_subject,
    Reason.AMBIGUOUS_EMAIL: ambiguous_email,
    Reason.TRANSIENT_NAMEID: transient_nameid,
}
