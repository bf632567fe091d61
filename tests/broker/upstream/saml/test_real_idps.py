"""Real signed SAML responses from Okta, Google Workspace, Entra ID/ADFS, Keycloak, PingOne and
JumpCloud (SSOReady's test data, MIT; ../shared/testdata/saml-real-idps/README.md).

Each case configures a connection from the IdP's own metadata, as an admin would, with the SP
entity ID from params.json and the response's Destination as ACS URL, and validates at the
captured `now` through an injected clock. Only Keycloak's response answers a request; the
others are unsolicited and go through the IdP-initiated path (`request_id=None`).

Two README expectations are not met on purpose, each pinned by a test that says why: keycloak
(no AuthnStatement, a MUST in SAML Profiles §4.1.4.2) and no-certificate (its only remaining
signature is Okta's broken envelope signature).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from broker.clock import FixedClock
from broker.keys import SecretBox
from broker.upstream.saml.assertion_checks import check_assertion
from broker.upstream.saml.attributes import map_attributes
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.sp import open_sp_keys, python3_saml_settings
from broker.upstream.saml.validate import (
    Expectations,
    SamlInvalid,
    VerifiedAssertion,
    authenticate,
)
from broker.upstream.saml.xmlsig import load_verification_keys
from broker.upstream.urls import ConnectionEndpoints
from tests.support.config import TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config
from tests.support.tiers import missing_dependency

DATA = Path(__file__).resolve().parents[4].parent / "shared" / "testdata" / "saml-real-idps"
DS = "http://www.w3.org/2000/09/xmldsig#"
CONNECTION_ID = "con_real_idp"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
ULYSSE = "ulysse.carion@codomaindata.com"


@dataclass(frozen=True)
class Case:
    name: str
    xml: bytes
    metadata: bytes
    sp_entity_id: str
    now: datetime

    @property
    def destination(self) -> str | None:
        """Test setup only: read with lxml to configure the connection's ACS URL."""
        root = _tree(self.xml)
        return None if root is None else root.get("Destination")

    @property
    def in_response_to(self) -> str | None:
        root = _tree(self.xml)
        return None if root is None else root.get("InResponseTo")


def _tree(xml: bytes) -> Any:
    """lxml, for test setup only (the broker never parses the response a second time)."""
    try:
        return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None


def load(name: str) -> Case:
    if not DATA.is_dir():
        missing_dependency(f"shared SAML test data not found at {DATA}")
    folder = DATA / name
    params = json.loads((folder / "params.json").read_text())
    return Case(
        name=name,
        xml=(folder / "assertion.xml").read_bytes(),
        metadata=(folder / "metadata.xml").read_bytes(),
        sp_entity_id=params["sp_entity_id"],
        now=datetime.fromisoformat(params["now"].replace("Z", "+00:00")),
    )


def validate_case(
    case: Case,
    *,
    xml: bytes | None = None,
    acs_url: str | None = None,
    options: dict[str, object] | None = None,
) -> VerifiedAssertion:
    """Both validation phases, exactly as the connector runs them, at the case's `now`."""
    clock = FixedClock(case.now)
    endpoints = ConnectionEndpoints(
        connection_id=CONNECTION_ID,
        callback_url=acs_url or str(case.destination),
        entity_id=case.sp_entity_id,
        metadata_url=case.sp_entity_id,
    )
    box = SecretBox(TEST_SECRET_KEY)
    config = SamlConnectionConfig.parse(
        new_saml_config(
            parse_idp_metadata(case.metadata),
            box=box,
            endpoints=endpoints,
            now=clock.now(),
            options=options,
        )
    )
    keys = open_sp_keys(config, box, CONNECTION_ID)
    expect = Expectations(
        idp_entity_id=config.idp_entity_id,
        sp_entity_id=endpoints.entity_id,
        acs_url=endpoints.callback_url,
        request_id=case.in_response_to,
        now=clock.now(),
        skew=timedelta(seconds=config.clock_skew_seconds),
        allow_sha1=config.allow_sha1,
        allow_cbc_encryption=config.allow_cbc_encryption,
        require_assertion_signature=config.require_assertion_signature,
        require_encrypted_assertion=config.require_encrypted_assertion,
    )
    authenticated = authenticate(
        base64.b64encode(xml if xml is not None else case.xml).decode(),
        settings=python3_saml_settings(
            config,
            endpoints,
            private_key_pem=keys.encryption_key_pem,
            certificate_pem=keys.encryption_cert_pem,
        ),
        keys=load_verification_keys(config.idp_certificates),
        expect=expect,
    )
    return check_assertion(authenticated, expect)


def refusal(case: Case, **kwargs: Any) -> str:
    with pytest.raises(SamlInvalid) as caught:
        validate_case(case, **kwargs)
    return caught.value.reason


# -- accepted -------------------------------------------------------------------------------

_ENTRA = "http://schemas.microsoft.com/identity/claims"
_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims"
ADFS_NAME_ID = "ulysse.carion_codomaindata.com#EXT#@ulyssecarioncodomaindata.onmicrosoft.com"

ACCEPTED = {
    "google": (ULYSSE, UNSPECIFIED, {}),
    "jumpcloud": (ULYSSE, "urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified", {}),
    "ping": (
        "9e34fa21-4e8f-4dee-b565-648dbcf25eff",
        None,
        {"saml_subject": ["9e34fa21-4e8f-4dee-b565-648dbcf25eff"]},
    ),
    "adfs": (
        ADFS_NAME_ID,
        EMAIL,
        {
            f"{_ENTRA}/tenantid": ["a9054a0f-2011-4e31-b3ac-fd8c354146ec"],
            f"{_ENTRA}/objectidentifier": ["74a35d48-1914-4115-82f1-1b8a01449f3d"],
            f"{_ENTRA}/displayname": ["Ulysse Carion"],
            f"{_ENTRA}/identityprovider": ["live.com"],
            "http://schemas.microsoft.com/claims/authnmethodsreferences": [
                "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password",
                "http://schemas.microsoft.com/claims/multipleauthn",
                "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/unspecified",
            ],
            f"{_CLAIMS}/givenname": ["Ulysse"],
            f"{_CLAIMS}/surname": ["Carion"],
            f"{_CLAIMS}/emailaddress": [ULYSSE],
            f"{_CLAIMS}/name": [ADFS_NAME_ID],
        },
    ),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_real_idp_response_is_accepted_and_read(name: str) -> None:
    case = load(f"assertions/{name}")
    assert case.in_response_to is None  # unsolicited: the IdP-initiated path
    verified = validate_case(case)
    name_id, name_id_format, attributes = ACCEPTED[name]
    assert verified.name_id == name_id
    assert verified.name_id_format == name_id_format
    assert dict(verified.attributes) == attributes
    assert verified.assertion_id


def test_entra_id_attributes_map_to_claims_with_the_entra_profile() -> None:
    verified = validate_case(load("assertions/adfs"))
    mapped = map_attributes(verified.attributes, profile="entra", overrides={})
    assert (mapped.email, mapped.given_name, mapped.family_name, mapped.name) == (
        ULYSSE,
        "Ulysse",
        "Carion",
        "Ulysse Carion",
    )


def test_keycloak_signature_verifies_but_the_web_sso_profile_checks_refuse_it() -> None:
    """The Keycloak response answers `saml_flow_95q1hli3z0vohj0d55l4j4yo1` (validated with that
    request id). Its signature and issuer pass; it carries no AuthnStatement, which SAML
    Profiles §4.1.4.2 requires ("MUST contain at least one <AuthnStatement>") and which the
    connector needs for a truthful auth_time."""
    case = load("assertions/keycloak")
    assert case.in_response_to == "saml_flow_95q1hli3z0vohj0d55l4j4yo1"
    with pytest.raises(SamlInvalid) as caught:
        validate_case(case)
    assert caught.value.reason == "missing_authn_statement"


# -- refused --------------------------------------------------------------------------------

REFUSED = [
    # Response signature broken, Assertion's good: every signature present must verify.
    ("assertions/okta", {}, "signature_invalid"),
    ("bad-assertions/bad-certificate", {}, "signature_invalid"),
    ("bad-assertions/bad-signature-algorithm", {}, "weak_algorithm"),
    ("bad-assertions/bad-digest-algorithm", {}, "weak_algorithm"),
    # The variants below keep Okta's broken Response signature, so that is reported first.
    ("bad-assertions/bad-idp-entity-id", {}, "signature_invalid"),
    ("bad-assertions/bad-sp-entity-id", {}, "signature_invalid"),
    ("bad-assertions/bad-assertion-expired-early", {}, "signature_invalid"),
    ("bad-assertions/bad-assertion-expired-late", {}, "signature_invalid"),
    # The Assertion signature is removed: refused by policy before the broken envelope one...
    ("bad-assertions/unsigned-assertion", {}, "assertion_unsigned"),
    # ...and, with that policy off, by the broken envelope signature.
    (
        "bad-assertions/unsigned-assertion",
        {"require_assertion_signature": False},
        "signature_invalid",
    ),
    # README says "accepted", but this file's only signature is Okta's broken Response one
    # (the Assertion signature was removed as well as the KeyInfo; xmlsec1 --verify agrees:
    # "SignedInfo References (ok/all): 0/1"). Accepting it would mean accepting a bad
    # signature; the intent (pinned certificate, no KeyInfo) is proven with golden responses:
    # test_golden_signatures.py::test_s18_signature_without_keyinfo_verifies_with_the_pinned_...
    ("bad-assertions/no-certificate", {}, "assertion_unsigned"),
    ("bad-assertions/no-certificate", {"require_assertion_signature": False}, "signature_invalid"),
]


@pytest.mark.parametrize(
    ("name", "options", "reason"),
    [pytest.param(*row, id=f"{row[0].split('/')[1]}-{row[2]}") for row in REFUSED],
)
def test_real_idp_response_is_refused(name: str, options: dict[str, object], reason: str) -> None:
    assert refusal(load(name), options=options) == reason


def test_a_nul_byte_is_refused_as_malformed_without_crashing() -> None:
    case = load("bad-assertions/bad-assertion-utf8")
    assert case.xml.strip(b"\0\n ") == b""
    assert refusal(case, acs_url="http://localhost:8080") == "malformed"


def _without_response_signature(xml: bytes) -> bytes:
    """Test setup: drop Okta's broken envelope signature, leaving an assertion-signed response
    in an unsigned envelope, which is legal (SAML Profiles §4.1.4.5)."""
    root = _tree(xml)
    root.remove(root.find(f"{{{DS}}}Signature"))
    return bytes(etree.tostring(root))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad-assertions/bad-idp-entity-id", "wrong_issuer"),
        ("bad-assertions/bad-sp-entity-id", "wrong_audience"),
        ("bad-assertions/bad-assertion-expired-early", "not_yet_valid"),
        ("bad-assertions/bad-assertion-expired-late", "expired"),
        ("bad-assertions/bad-certificate", "signature_invalid"),
        ("bad-assertions/bad-signature-algorithm", "weak_algorithm"),
        ("bad-assertions/bad-digest-algorithm", "weak_algorithm"),
        ("bad-assertions/unsigned-assertion", "unsigned"),
    ],
)
def test_okta_variant_fails_for_its_own_reason_once_the_broken_envelope_signature_is_gone(
    name: str, reason: str
) -> None:
    """Each derived case is refused for the reason it was made for, not just for the
    envelope signature it inherited from the Okta capture."""
    case = load(name)
    assert refusal(case, xml=_without_response_signature(case.xml)) == reason


def test_okta_assertion_itself_is_genuine_and_accepted_in_an_unsigned_envelope() -> None:
    """The control for the test above: Okta's signed assertion, unchanged, verifies."""
    case = load("assertions/okta")
    verified = validate_case(case, xml=_without_response_signature(case.xml))
    assert verified.name_id == ULYSSE
    assert verified.name_id_format == EMAIL
