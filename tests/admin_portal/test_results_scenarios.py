"""Every simulator scenario, SAML and OIDC, through a real portal test login, end to end:
portal session -> POST /portal/connections/{id}/test -> the simulator (scenario chosen on
its login form) -> Gatehouse's ACS or redirect URI -> GET /portal/tests/{id}; the page must
show the diagnosis of that scenario's row in the scenario tables
(tests/support/saml_scenarios.toml, oidc_scenarios.toml), and what the IdP sent only if its
signature verified. The tables have a row for every simulator scenario (checked by the
in-process tier, tests/broker/upstream/*/test_login_scenarios.py).
"""

from __future__ import annotations

import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.upstream.saml.xmlsig import certificate_fingerprint
from idp_simulator.keys import IdpKeys
from idp_simulator.saml.scenarios import Scenario
from tests.support.config import ISSUER
from tests.support.oidc_world import OP_CLIENT_ID, OP_ISSUER
from tests.support.portal_idp_world import EMAIL, PortalIdpWorld
from tests.support.scenario_checks import assert_diagnosis
from tests.support.scenarios import OIDC, OIDC_EVIDENCE, SAML, SAML_EVIDENCE, Row, by_scenario


@pytest.mark.parametrize("row", SAML.values(), ids=by_scenario)
def test_a_saml_scenario_gets_its_diagnosis(
    idp_world: PortalIdpWorld, idp_keys: IdpKeys, row: Row
) -> None:
    connection = idp_world.saml_connection("okta")
    page = idp_world.saml_test(connection, row.scenario)
    values = {
        "email": EMAIL,
        "sp_entity_id": f"{ISSUER}/saml/{connection.id}/metadata",
        "acs_url": f"{ISSUER}/saml/{connection.id}/acs",
        "trusted_fingerprint": _fingerprint(idp_keys.certificate_pem),
        "attacker_fingerprint": "",
    }
    if row.scenario is Scenario.WRONG_KEY:
        trusted = values["trusted_fingerprint"]
        fingerprints = set(re.findall(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}", page.text))
        assert trusted in fingerprints
        assert len(fingerprints - {trusted}) == 1  # the signer's, from the response's KeyInfo
    assert_diagnosis(page, row, idp_world.last_test(), values, evidence=SAML_EVIDENCE)


@pytest.mark.parametrize("row", OIDC.values(), ids=by_scenario)
def test_an_oidc_scenario_gets_its_diagnosis(idp_world: PortalIdpWorld, row: Row) -> None:
    connection = idp_world.oidc_connection("okta")
    page = idp_world.oidc_test(connection, row.scenario)
    values = {"email": EMAIL, "op_issuer": OP_ISSUER, "op_client_id": OP_CLIENT_ID}
    assert_diagnosis(page, row, idp_world.last_test(), values, evidence=OIDC_EVIDENCE)


def _fingerprint(pem: bytes) -> str:
    certificate = x509.load_pem_x509_certificate(pem)
    return certificate_fingerprint(certificate.public_bytes(Encoding.DER))
