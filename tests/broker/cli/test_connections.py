"""`gatehouse connections create-saml`: from a metadata file, a metadata URL, or explicit
values; prints what the IdP admin needs, and refuses what would make a broken or unsafe
connection."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import generate
from tests.broker.cli.test_orgs_domains import create_org, env, refused, run
from tests.support.live_server import free_port, serve

__all__ = ["env"]  # the fixture, re-used

ISSUER = "http://127.0.0.1:8000"


def write_metadata(tmp_path: Path) -> tuple[Path, str]:
    keys = generate()
    simulator = create_simulator(
        SimulatorConfig(base_url="https://idp.test", key_dir=None, allowed_acs_prefixes=(ISSUER,)),
        keys=keys,
    )
    with TestClient(simulator, base_url="https://idp.test") as client:
        metadata = client.get("/metadata").content
    path = tmp_path / "idp-metadata.xml"
    path.write_bytes(metadata)
    return path, keys.certificate_pem.decode()


def test_create_from_a_metadata_file_prints_the_sp_values(
    env: dict[str, str], tmp_path: Path
) -> None:
    org = create_org(env, "Example Corp", "example")
    metadata, _ = write_metadata(tmp_path)
    out = json.loads(
        run(env, "connections", "create-saml", "--org", "example",
            "--metadata-file", str(metadata), "--json")
    )  # fmt: skip
    cid = out["id"]
    assert out["organization_id"] == org
    assert out["idp_entity_id"] == "https://idp.test/metadata"
    assert out["acs_url"] == f"{ISSUER}/saml/{cid}/acs"
    assert out["sp_entity_id"] == f"{ISSUER}/saml/{cid}/metadata"
    assert out["sp_metadata_url"] == out["sp_entity_id"]
    assert out["active"] is False  # until `connections activate` (or --active)
    listed = json.loads(run(env, "connections", "list", "--json"))["connections"]
    assert [c["id"] for c in listed] == [cid]
    text = run(env, "connections", "create-saml", "--org", org, "--metadata-file", str(metadata))
    assert "ACS URL (Reply URL):" in text
    second = text.splitlines()[0]
    assert f"Inactive: once a test login works, run `gatehouse connections activate {second}`" in (
        text
    )


def test_active_routes_logins_at_once(env: dict[str, str], tmp_path: Path) -> None:
    create_org(env, "Example Corp", "example")
    metadata, _ = write_metadata(tmp_path)
    args = ["connections", "create-saml", "--org", "example", "--metadata-file", str(metadata)]
    out = json.loads(run(env, *args, "--active", "--json"))
    assert out["active"] is True
    shown = json.loads(run(env, "connections", "show", out["id"], "--json"))
    assert (shown["active"], shown["version"]) == (True, 1)
    assert "Inactive" not in run(env, *args, "--active")


def test_create_from_a_metadata_url(env: dict[str, str], tmp_path: Path) -> None:
    create_org(env, "Example Corp", "example")
    port = free_port()
    config = SimulatorConfig(
        base_url=f"http://127.0.0.1:{port}", key_dir=None, allowed_acs_prefixes=(ISSUER,)
    )
    with serve(create_simulator(config, keys=generate()), port) as base:
        assert httpx.get(f"{base}/metadata").status_code == 200
        out = json.loads(
            run(env, "connections", "create-saml", "--org", "example",
                "--metadata-url", f"{base}/metadata", "--json")
        )  # fmt: skip
    assert out["idp_entity_id"] == f"{base}/metadata"


def test_a_metadata_url_must_be_https_in_production(env: dict[str, str]) -> None:
    create_org(env, "Example Corp", "example")
    production = {
        **env,
        "GATEHOUSE_ENV": "production",
        "GATEHOUSE_ISSUER": "https://sso.example.test",
        "GATEHOUSE_SECRET_KEY": base64.urlsafe_b64encode(b"k" * 32).decode(),
    }
    out = refused(
        production, "connections", "create-saml", "--org", "example",
        "--metadata-url", "http://127.0.0.1:9/metadata",
    )  # fmt: skip
    assert "https" in out


def create_from_values(env: dict[str, str], tmp_path: Path, *flags: str) -> dict[str, Any]:
    """A SAML connection from explicit IdP values, with `flags`; its JSON answer."""
    create_org(env, "Example Corp", "example")
    _, cert = write_metadata(tmp_path)
    cert_file = tmp_path / "idp.pem"
    cert_file.write_text(cert)
    created: dict[str, Any] = json.loads(
        run(env, "connections", "create-saml", "--org", "example",
            "--entity-id", "urn:idp", "--sso-url", "https://idp.test/sso",
            "--cert", str(cert_file), *flags, "--json")
    )  # fmt: skip
    return created


def test_create_from_explicit_values(env: dict[str, str], tmp_path: Path) -> None:
    out = create_from_values(env, tmp_path, "--allow-sha1")
    assert out["idp_entity_id"] == "urn:idp"
    assert any("SHA-1" in w for w in out["warnings"])
    assert not any("AES-CBC" in w for w in out["warnings"])


def test_cbc_encryption_is_an_explicit_flag(env: dict[str, str], tmp_path: Path) -> None:
    out = create_from_values(env, tmp_path, "--allow-cbc-encryption")
    assert any("AES-CBC" in w for w in out["warnings"])


def test_a_private_key_given_as_the_certificate_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    create_org(env, "Example Corp", "example")
    keys = generate()
    key_file = tmp_path / "oops.pem"
    key_file.write_bytes(keys.private_key_pem)
    out = refused(
        env, "connections", "create-saml", "--org", "example",
        "--entity-id", "urn:idp", "--sso-url", "https://idp.test/sso", "--cert", str(key_file),
    )  # fmt: skip
    assert "private key" in out
    assert "BEGIN" not in out
    assert json.loads(run(env, "connections", "list", "--json"))["connections"] == []


def test_metadata_with_a_doctype_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    create_org(env, "Example Corp", "example")
    evil = tmp_path / "evil.xml"
    evil.write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'entityID="&e;"/>'
    )
    out = refused(
        env, "connections", "create-saml", "--org", "example", "--metadata-file", str(evil)
    )
    assert "root:" not in out


def test_an_unknown_organization_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    metadata, _ = write_metadata(tmp_path)
    out = refused(
        env, "connections", "create-saml", "--org", "nope", "--metadata-file", str(metadata)
    )
    assert "no organization" in out


def test_the_subject_hint_is_on_unless_turned_off(env: dict[str, str], tmp_path: Path) -> None:
    """`--no-subject-hint`: for an IdP that refuses an AuthnRequest carrying a Subject."""
    create_org(env, "Example Corp", "example")
    metadata, _ = write_metadata(tmp_path)
    args = ["connections", "create-saml", "--org", "example", "--metadata-file", str(metadata)]
    hinted = json.loads(run(env, *args, "--json"))["id"]
    quiet = json.loads(run(env, *args, "--no-subject-hint", "--json"))["id"]
    for connection_id, expected in ((hinted, True), (quiet, False)):
        shown = json.loads(run(env, "connections", "show", connection_id, "--json"))
        assert shown["settings"]["subject_hint"] is expected
