"""One hardened parser, and what it refuses (docs/security.md S-25, S-26, S-39, S-40).

Parser-level attacks (external entities, remote DTDs, XInclude, entity expansion, deep nesting,
huge inputs) are only harmless if every SAMLResponse goes through a single parser configured to
refuse them, after cheap size and encoding checks. So the payloads are refused here quickly and
without touching the SSRF canary, and S-40 pins the structure that makes that true: no XML
library outside the SAML package, one parse call inside it, and at run time exactly one lxml
parse per login, from python3-saml's hardened parser module. A second parser would reopen the
parser-differential class (S-11).
"""

from __future__ import annotations

import ast
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lxml.etree
import pytest

from broker.errors import ConfigError
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from idp_simulator.keys import IdpKeys
from tests.support.saml_golden import (
    ALICE,
    GoldenConnection,
    canary_server,
    encode,
    golden_metadata,
)
from tests.support.saml_golden_cases import FAST, refused, respond
from tests.support.saml_mutators import (
    billion_laughs,
    deep_nesting,
    external_dtd,
    with_doctype,
    xinclude,
    xxe_file,
    xxe_parameter_entity,
)

# -- S-25, S-26: DOCTYPEs and parser abuse ------------------------------------------------


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


# -- S-40: one parser ---------------------------------------------------------------------------

BROKER = Path(__file__).resolve().parents[4] / "broker"
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
