"""Keys (kept across restarts), configuration from the environment, and the IdP metadata."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import CERT_FILE, KEY_FILE, IdpKeys, generate, load_or_create
from idp_simulator.saml.metadata import metadata_xml
from tests.idp_simulator.saml_helpers import NS, assert_schema_valid, parse


def test_generated_certificate_is_rsa_2048_self_signed(keys: IdpKeys):
    certificate = x509.load_pem_x509_certificate(keys.certificate_pem)
    assert certificate.issuer == certificate.subject
    assert certificate.public_key().key_size == 2048  # type: ignore[union-attr]
    assert b"PRIVATE KEY" in keys.private_key_pem


def test_load_or_create_creates_once_with_0600_and_reuses(tmp_path: Path):
    directory = tmp_path / "keys"
    first = load_or_create(directory)
    for name in (KEY_FILE, CERT_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert load_or_create(directory) == first
    assert sorted(p.name for p in directory.iterdir()) == sorted([KEY_FILE, CERT_FILE])


def test_a_half_written_pair_is_replaced(tmp_path: Path):
    first = load_or_create(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    assert load_or_create(tmp_path) != first


def test_a_key_that_does_not_match_its_certificate_is_an_error(tmp_path: Path):
    load_or_create(tmp_path)
    (tmp_path / CERT_FILE).write_bytes(generate().certificate_pem)
    with pytest.raises(ValueError, match="does not match"):
        load_or_create(tmp_path)


def test_config_defaults():
    config = SimulatorConfig.from_env({})
    assert config.base_url == "http://127.0.0.1:7000"
    assert config.entity_id == "http://127.0.0.1:7000/metadata"
    assert config.sso_url == "http://127.0.0.1:7000/sso"
    assert config.key_dir is None
    assert config.allowed_acs_prefixes == ("http://127.0.0.1", "http://localhost")
    assert (config.host, config.port) == ("127.0.0.1", 7000)


def test_config_from_env(tmp_path: Path):
    config = SimulatorConfig.from_env(
        {
            "IDP_SIM_BASE_URL": "https://idp.test/",
            "IDP_SIM_KEY_DIR": str(tmp_path),
            "IDP_SIM_HOST": "192.0.2.10",
            "IDP_SIM_PORT": "7100",
            "IDP_SIM_ALLOWED_ACS": " https://sso.example.com/saml/ , http://localhost:8000",
        }
    )
    assert config.base_url == "https://idp.test"
    assert config.key_dir == tmp_path
    assert config.allowed_acs_prefixes == (
        "https://sso.example.com/saml/",
        "http://localhost:8000",
    )
    assert (config.host, config.port) == ("192.0.2.10", 7100)


def test_base_url_follows_the_port_when_unset():
    assert SimulatorConfig.from_env({"IDP_SIM_PORT": "7123"}).base_url == "http://127.0.0.1:7123"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"IDP_SIM_PORT": "seven"}, "TCP port"),
        ({"IDP_SIM_PORT": "70000"}, "TCP port"),
        ({"IDP_SIM_BASE_URL": "ftp://idp"}, "http"),
        ({"IDP_SIM_ALLOWED_ACS": " , "}, "ACS"),
    ],
)
def test_bad_config_is_refused(environ, message):
    with pytest.raises(ValueError, match=message):
        SimulatorConfig.from_env(environ)


def test_metadata(keys: IdpKeys):
    root = parse(metadata_xml("http://idp.test/metadata", "http://idp.test/sso", keys))
    assert_schema_valid("saml-schema-metadata-2.0.xsd", root)
    assert root.get("entityID") == "http://idp.test/metadata"
    idp = root.find("md:IDPSSODescriptor", NS)
    assert idp.get("WantAuthnRequestsSigned") == "false"
    assert idp.get("protocolSupportEnumeration") == "urn:oasis:names:tc:SAML:2.0:protocol"
    descriptor = idp.find("md:KeyDescriptor", NS)
    assert descriptor.get("use") == "signing"
    certificate = descriptor.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", None, NS)
    assert certificate == keys.certificate_base64()
    assert idp.findtext("md:NameIDFormat", namespaces=NS) == (
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    )
    services = {
        s.get("Binding"): s.get("Location") for s in idp.findall("md:SingleSignOnService", NS)
    }
    assert services == {
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect": "http://idp.test/sso",
        "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST": "http://idp.test/sso",
    }
