"""Reading AuthnRequests: both bindings, what is recorded, and every input that is refused."""

from __future__ import annotations

import base64

import pytest

from idp_simulator.config import DEFAULT_ALLOWED_ACS
from idp_simulator.saml.authn_request import (
    MAX_ENCODED_CHARS,
    MAX_XML_BYTES,
    AuthnRequestError,
    AuthnRequestInfo,
    Binding,
    acs_url_allowed,
    parse_authn_request,
)
from tests.idp_simulator.saml_helpers import (
    ACS_URL,
    DS,
    REQUEST_ID,
    SP_ENTITY_ID,
    authn_request_xml,
    deflate,
    post_params,
    redirect_params,
)


def parse(binding: Binding, params: dict[str, str]) -> AuthnRequestInfo:
    return parse_authn_request(binding, params, allowed_acs_prefixes=DEFAULT_ALLOWED_ACS)


def test_redirect_binding_is_inflated_and_read():
    info = parse("redirect", redirect_params(authn_request_xml(force_authn=True)))
    assert info.request_id == REQUEST_ID
    assert info.issuer == SP_ENTITY_ID
    assert info.acs_url == ACS_URL
    assert info.force_authn is True
    assert info.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert info.relay_state == "rs-123"
    assert info.binding == "redirect"
    assert info.signed is False


def test_redirect_signature_is_recorded_not_verified():
    params = redirect_params(authn_request_xml())
    params |= {"SigAlg": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "Signature": "AA=="}
    assert parse("redirect", params).signed is True


def test_post_binding_is_read_and_its_signature_recorded():
    info = parse("post", post_params(authn_request_xml(force_authn=False), relay_state=None))
    assert (info.request_id, info.acs_url, info.binding) == (REQUEST_ID, ACS_URL, "post")
    assert info.force_authn is False
    assert info.relay_state is None
    assert info.signed is False
    signed_xml = authn_request_xml(extra=f'<ds:Signature xmlns:ds="{DS}"/>')
    assert parse("post", post_params(signed_xml)).signed is True


def test_post_binding_accepts_base64_wrapped_at_76_columns():
    encoded = base64.encodebytes(authn_request_xml()).decode()
    assert "\n" in encoded
    assert parse("post", {"SAMLRequest": encoded}).request_id == REQUEST_ID


def test_relay_state_passes_through_verbatim():
    relay_state = "  a b&c=<d>/é  "
    assert parse("post", post_params(authn_request_xml(), relay_state)).relay_state == relay_state


def test_no_name_id_policy_means_no_format():
    assert parse("post", post_params(authn_request_xml(name_id_format=None))).name_id_format is None


def test_a_subject_name_id_is_read_as_the_hint_for_the_login_form():
    subject = (
        '<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:'
        'emailAddress"> expired+a&amp;b@example.com </saml:NameID></saml:Subject>'
    )
    info = parse("redirect", redirect_params(authn_request_xml(extra=subject)))
    assert info.subject_hint == "expired+a&b@example.com"


@pytest.mark.parametrize("extra", ["", "<saml:Subject><saml:NameID> </saml:NameID></saml:Subject>"])
def test_no_subject_name_id_means_no_hint(extra):
    assert parse("post", post_params(authn_request_xml(extra=extra))).subject_hint is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "no SAMLRequest"),
        ({"SAMLRequest": "A" * (MAX_ENCODED_CHARS + 1)}, "too large"),
        ({"SAMLRequest": "not base64!"}, "not valid base64"),
        ({"SAMLRequest": base64.b64encode(b"plain, not deflated").decode()}, "DEFLATE"),
        (
            {"SAMLRequest": base64.b64encode(deflate(authn_request_xml())[:-8]).decode()},
            "truncated",
        ),
    ],
)
def test_redirect_encoding_problems_are_refused(params, message):
    with pytest.raises(AuthnRequestError, match=message):
        parse("redirect", params)


def test_inflate_bomb_is_refused_without_inflating_it_all():
    bomb = deflate(b"<a>" + b" " * 50_000_000 + b"</a>")
    assert len(bomb) < 100_000
    with pytest.raises(AuthnRequestError, match="too large once inflated"):
        parse("redirect", {"SAMLRequest": base64.b64encode(bomb).decode()})


def test_oversize_post_is_refused():
    padding = "<!--" + "x" * MAX_XML_BYTES + "-->"
    big = authn_request_xml(extra=padding)
    with pytest.raises(AuthnRequestError, match="too large"):
        parse("post", post_params(big))


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE r [<!ENTITY x "boom">]>',
        b'<!DOCTYPE r SYSTEM "http://attacker.test/evil.dtd">',
        b"<!doctype r>",
    ],
)
@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_doctype_is_refused(doctype, binding):
    xml = b'<?xml version="1.0"?>' + doctype + authn_request_xml()
    params = redirect_params(xml) if binding == "redirect" else post_params(xml)
    with pytest.raises(AuthnRequestError, match="DOCTYPE"):
        parse(binding, params)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<not-closed>", "not well-formed"),
        (b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>', "not an Authn"),
        (authn_request_xml(request_id=""), "no usable ID"),
        (authn_request_xml(issuer=None), "no Issuer"),
        (authn_request_xml(acs_url=None), "no AssertionConsumerServiceURL"),
        (authn_request_xml(acs_url="https://attacker.test/acs"), "will not post to"),
        (authn_request_xml(acs_url="http://localhost.attacker.test/acs"), "will not post to"),
    ],
)
def test_unusable_requests_are_refused(xml, message):
    with pytest.raises(AuthnRequestError, match=message):
        parse("post", post_params(xml))


def test_artifact_binding_is_refused():
    xml = authn_request_xml().replace(b"bindings:HTTP-POST", b"bindings:HTTP-Artifact")
    with pytest.raises(AuthnRequestError, match="HTTP-POST only"):
        parse("post", post_params(xml))


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8000/saml/acs", True),
        ("http://127.0.0.1/acs", True),
        ("http://localhost:8000/acs?x=1", True),
        ("http://localhost", True),
        ("http://localhost.attacker.test/acs", False),
        ("http://localhost@attacker.test/acs", False),
        ("http://127.0.0.1:8000@attacker.test/acs", False),
        ("http://127.0.0.10/acs", False),
        ("https://127.0.0.1/acs", False),
        ("javascript:alert(1)//http://localhost", False),
        ("http://localhost/acs\nSet-Cookie: x", False),
        ("http://localhost\\@attacker.test/", False),
    ],
)
def test_acs_prefix_matching_stops_at_the_host_boundary(url, allowed):
    assert acs_url_allowed(url, DEFAULT_ALLOWED_ACS) is allowed


def test_a_prefix_with_a_path_matches_paths_under_it():
    prefixes = ("https://sso.example.com/saml/",)
    assert acs_url_allowed("https://sso.example.com/saml/acs", prefixes)
    assert not acs_url_allowed("https://sso.example.com/other/acs", prefixes)
