"""Connection settings and IdP metadata are untrusted input: every refusal names its field."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from broker.errors import ConfigError
from broker.http import AutoPost
from broker.keys import SecretBox
from broker.upstream.outbound import OutboundPolicy
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import fetch_idp_metadata, parse_idp_metadata
from broker.upstream.saml.sp import build_authn_request, open_sp_keys, python3_saml_settings
from broker.upstream.urls import endpoints_for
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.metadata import metadata_xml
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_saml_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DEVELOPMENT = OutboundPolicy.for_environment(production=False)
PRODUCTION = OutboundPolicy.for_environment(production=True)


@pytest.fixture(scope="module")
def keys() -> IdpKeys:
    return generate()


@pytest.fixture(scope="module")
def config(keys: IdpKeys) -> dict[str, Any]:
    idp = parse_idp_metadata(
        metadata_xml("https://idp.test/metadata", "https://idp.test/sso", keys)
    )
    return new_saml_config(
        idp,
        box=SecretBox(TEST_SECRET_KEY),
        endpoints=endpoints_for(ISSUER, "con_1", "saml"),
        now=NOW,
    )


def test_a_new_config_round_trips(config: dict[str, Any]) -> None:
    parsed = SamlConnectionConfig.parse(config)
    assert parsed.to_json() == config
    assert parsed.allow_sha1 is False
    assert parsed.allow_cbc_encryption is False  # S-22: AES-GCM only unless opted in
    assert parsed.require_assertion_signature is True
    assert parsed.clock_skew_seconds == 120
    assert "PRIVATE KEY" not in str(config)  # SP keys are stored encrypted


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"clock_skew_seconds": 301}, "clock_skew_seconds"),
        ({"clock_skew_seconds": True}, "clock_skew_seconds"),
        ({"sso_binding": "artifact"}, "sso_binding"),
        ({"sso_url": "ftp://idp.test/sso"}, "sso_url"),
        # What python3-saml refuses when the connector opens, refused when it is stored.
        ({"sso_url": "https://idp.test/sso?app=a b"}, "sso_url"),
        ({"sso_url": "https://idp/sso"}, "sso_url"),
        ({"idp_certificates": []}, "idp_certificates"),
        ({"idp_certificates": ["not a certificate"]}, "idp_certificates"),
        ({"attribute_profile": "myspace"}, "attribute_profile"),
        ({"required_claims": ["shoe_size"]}, "required_claims"),
        ({"attribute_mapping": {"email": []}}, "attribute_mapping.email"),
        ({"allow_sha1": "yes"}, "allow_sha1"),
        ({"allow_cbc_encryption": 1}, "allow_cbc_encryption"),
        ({"sp_signing": None}, "sp_signing"),
        ({"name_id_format": "urn:x"}, "name_id_format"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    config: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        SamlConnectionConfig.parse({**config, **change})
    assert raised.value.field == field


def test_a_private_key_pasted_as_a_certificate_is_refused(
    config: dict[str, Any], keys: IdpKeys
) -> None:
    with pytest.raises(ConfigError, match="private key"):
        SamlConnectionConfig.parse({**config, "idp_certificates": [keys.private_key_pem.decode()]})


def test_sha1_is_a_warning_when_allowed(config: dict[str, Any]) -> None:
    parsed = SamlConnectionConfig.parse({**config, "allow_sha1": True})
    assert any("SHA-1" in w for w in parsed.warnings())


def test_cbc_encryption_is_stored_and_a_warning_when_allowed(config: dict[str, Any]) -> None:
    assert not any("AES-CBC" in w for w in SamlConnectionConfig.parse(config).warnings())
    parsed = SamlConnectionConfig.parse({**config, "allow_cbc_encryption": True})
    assert parsed.allow_cbc_encryption is True
    assert SamlConnectionConfig.parse(parsed.to_json()) == parsed
    assert any("AES-CBC" in w and "AES-GCM" in w for w in parsed.warnings())


def test_metadata_gives_entity_id_sso_and_every_signing_certificate(keys: IdpKeys) -> None:
    other = generate()
    document = metadata_xml("https://idp.test/metadata", "https://idp.test/sso", keys)
    # A rollover: the IdP lists its next certificate too.
    second = document.replace(
        b"</md:KeyDescriptor>",
        b"</md:KeyDescriptor>" + _key_descriptor(other),
        1,
    )
    idp = parse_idp_metadata(second)
    assert idp.entity_id == "https://idp.test/metadata"
    assert idp.sso_url == "https://idp.test/sso"
    assert idp.sso_binding == "redirect"
    assert len(idp.certificates) == 2


def test_metadata_with_several_idps_asks_which(keys: IdpKeys) -> None:
    one = metadata_xml("https://a.test/metadata", "https://a.test/sso", keys)
    two = metadata_xml("https://b.test/metadata", "https://b.test/sso", keys)
    body = b"".join(d.split(b"?>", 1)[-1] for d in (one, two))
    both = b'<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">' + body
    both += b"</md:EntitiesDescriptor>"
    with pytest.raises(ConfigError, match="several IdPs"):
        parse_idp_metadata(both)
    assert parse_idp_metadata(both, entity_id="https://b.test/metadata").sso_url == (
        "https://b.test/sso"
    )


@pytest.mark.parametrize(
    "document",
    [
        b"not xml",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>',
        b"<x>" + b" " * (1024 * 1024 + 1) + b"</x>",
    ],
)
def test_bad_metadata_is_refused(document: bytes) -> None:
    with pytest.raises(ConfigError):
        parse_idp_metadata(document)


def _transport(routes: dict[str, httpx.Response]) -> httpx.Client:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes[str(request.url)]

    client = httpx.Client(transport=httpx.MockTransport(handler))
    client.seen = seen  # type: ignore[attr-defined]
    return client


def test_a_metadata_redirect_to_another_scheme_is_not_followed() -> None:
    client = _transport(
        {"http://127.0.0.1/m": httpx.Response(302, headers={"location": "file:///etc/passwd"})}
    )
    with pytest.raises(ConfigError, match="another site"):
        fetch_idp_metadata("http://127.0.0.1/m", client, policy=DEVELOPMENT)


def test_metadata_larger_than_the_cap_is_refused() -> None:
    client = _transport(
        {"http://127.0.0.1/m": httpx.Response(200, content=b"x" * (1024 * 1024 + 1))}
    )
    with pytest.raises(ConfigError, match="larger"):
        fetch_idp_metadata("http://127.0.0.1/m", client, policy=DEVELOPMENT)


@pytest.mark.parametrize(
    "url",
    ["http://idp.test/metadata", "https://127.0.0.1/metadata", "https://169.254.169.254/latest"],
)
def test_production_fetches_only_https_public_addresses(url: str) -> None:
    client = _transport({})
    with pytest.raises(ConfigError):
        fetch_idp_metadata(url, client, policy=PRODUCTION)
    assert client.seen == []  # type: ignore[attr-defined]


def _key_descriptor(keys: IdpKeys) -> bytes:
    body = b"".join(
        line for line in keys.certificate_pem.splitlines() if not line.startswith(b"-----")
    )
    return (
        b'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
        b"<ds:X509Data><ds:X509Certificate>" + body + b"</ds:X509Certificate></ds:X509Data>"
        b"</ds:KeyInfo></md:KeyDescriptor>"
    )


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_an_sso_url_with_xml_syntax_is_the_authn_requests_destination_as_it_is(
    config: dict[str, Any], binding: str
) -> None:
    """python3-saml writes the SSO URL into the AuthnRequest unescaped: an `&` would make
    the request malformed, a `"` would add XML to a request Gatehouse signs (T-10: the URL
    is the IdP metadata's). Escaped first, the Destination is the URL, and nothing more."""
    sso_url = 'https://idp.test/sso?app=1&from="/><samlp:Extensions>x</samlp:Extensions>'
    parsed = SamlConnectionConfig.parse({**config, "sso_url": sso_url, "sso_binding": binding})
    keys = open_sp_keys(parsed, SecretBox(TEST_SECRET_KEY), "con_1")
    settings = python3_saml_settings(
        parsed, endpoints_for(ISSUER, "con_1", "saml"),
        private_key_pem=keys.signing_key_pem, certificate_pem=keys.signing_cert_pem,
    )  # fmt: skip
    out = build_authn_request(parsed, settings, keys, relay_state="flow", force_authn=False)
    if isinstance(out.action, AutoPost):
        assert out.action.action == sso_url
        document = base64.b64decode(out.action.fields["SAMLRequest"])
    else:
        assert out.action.location.startswith(f"{sso_url}&SAMLRequest=")
        query = parse_qs(urlsplit(out.action.location).query)
        document = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15)
    request = etree.fromstring(document)
    assert request.get("Destination") == sso_url
    assert request.find(f"{{{C.NS_SAMLP}}}Extensions") is None


def _sent_request(config: dict[str, Any], subject_hint: str | None) -> Any:
    """The AuthnRequest a connection with `config` sends (HTTP-Redirect), as XML."""
    parsed = SamlConnectionConfig.parse(config)
    keys = open_sp_keys(parsed, SecretBox(TEST_SECRET_KEY), "con_1")
    settings = python3_saml_settings(
        parsed, endpoints_for(ISSUER, "con_1", "saml"),
        private_key_pem=keys.signing_key_pem, certificate_pem=keys.signing_cert_pem,
    )  # fmt: skip
    out = build_authn_request(
        parsed, settings, keys, relay_state="flow", force_authn=False, subject_hint=subject_hint
    )
    assert not isinstance(out.action, AutoPost)
    query = parse_qs(urlsplit(out.action.location).query)
    return etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))


def test_the_expected_person_is_the_authn_requests_subject_by_default(
    config: dict[str, Any],
) -> None:
    """SAML Core §3.4.1: the requester MAY name the Subject; the address is escaped, since
    python3-saml writes it into its template as it is."""
    assert SamlConnectionConfig.parse(config).subject_hint is True
    request = _sent_request({**config, "sso_binding": "redirect"}, "a&b@example.com")
    name_ids = request.findall(f"{{{C.NS_SAML}}}Subject/{{{C.NS_SAML}}}NameID")
    assert [(n.text, n.get("Format")) for n in name_ids] == [
        ("a&b@example.com", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    ]


@pytest.mark.parametrize(
    ("options", "hint"),
    [
        ({"subject_hint": False}, "ann@example.com"),
        ({"name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}, "a@b.c"),
        ({}, None),
    ],
)
def test_no_subject_when_turned_off_not_an_email_format_or_no_one_expected(
    config: dict[str, Any], options: dict[str, Any], hint: str | None
) -> None:
    request = _sent_request({**config, "sso_binding": "redirect", **options}, hint)
    assert request.find(f"{{{C.NS_SAML}}}Subject") is None


def test_subject_hint_round_trips_and_must_be_a_boolean(config: dict[str, Any]) -> None:
    off = SamlConnectionConfig.parse({**config, "subject_hint": False})
    assert off.subject_hint is False
    assert SamlConnectionConfig.parse(off.to_json()) == off
    with pytest.raises(ConfigError, match="subject_hint"):
        SamlConnectionConfig.parse({**config, "subject_hint": "yes"})
