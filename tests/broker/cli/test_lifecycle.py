"""`gatehouse connections show|activate|deactivate|delete`, `orgs delete` and `domains
delete`: the management use cases from the command line, against a real SQLite file, with
the API's answer fields under `--json`."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

from broker.cli import cli
from tests.broker.cli.test_connections import write_metadata
from tests.broker.cli.test_orgs_domains import create_org, domains, env, refused, run

__all__ = ["env"]  # the fixture, re-used


def saml_connection(env: dict[str, str], org: str, tmp_path: Path) -> str:
    metadata, _ = write_metadata(tmp_path)
    out = run(env, "connections", "create-saml", "--org", org, "--metadata-file", str(metadata),
              "--name", "Example SAML", "--active", "--json")  # fmt: skip
    cid: str = json.loads(out)["id"]
    return cid


def event_types(env: dict[str, str]) -> list[str]:
    listed = json.loads(run(env, "events", "list", "--json"))["items"]
    return [e["type"] for e in listed]


def test_show_activate_and_deactivate(env: dict[str, str], tmp_path: Path) -> None:
    org = create_org(env, "Acme")
    cid = saml_connection(env, org, tmp_path)
    shown = json.loads(run(env, "connections", "show", cid, "--json"))
    assert (shown["id"], shown["type"], shown["organization_id"]) == (cid, "saml", org)
    assert (shown["name"], shown["active"], shown["version"]) == ("Example SAML", True, 1)
    assert (shown["last_test"], shown["last_passed_at"]) == (None, None)  # never tested
    assert shown["settings"]["idp_entity_id"] == "https://idp.test/metadata"
    assert shown["settings"]["acs_url"] == f"{env['GATEHOUSE_ISSUER']}/saml/{cid}/acs"
    text = run(env, "connections", "show", cid)
    assert text.startswith(f"{cid}  saml  {org}  Example SAML\n  active:   yes")
    assert "  idp_entity_id: https://idp.test/metadata\n" in text

    off = json.loads(run(env, "connections", "deactivate", cid, "--json"))
    assert (off["active"], off["version"]) == (False, 2)
    assert "active:   no" in run(env, "connections", "deactivate", cid)  # idempotent
    assert json.loads(run(env, "connections", "show", cid, "--json"))["version"] == 2
    on = json.loads(run(env, "connections", "activate", cid, "--json"))
    assert (on["active"], on["version"]) == (True, 3)
    assert event_types(env)[:2] == ["connection.activated", "connection.deactivated"]


def test_delete_asks_first(env: dict[str, str], tmp_path: Path) -> None:
    org = create_org(env, "Acme")
    cid = saml_connection(env, org, tmp_path)
    declined = CliRunner().invoke(cli, ["connections", "delete", cid], env=env, input="n\n")
    assert declined.exit_code == 1
    assert f"Delete saml connection {cid} (Example SAML) of {org}" in declined.output
    assert "Aborted" in declined.output
    assert json.loads(run(env, "connections", "show", cid, "--json"))["id"] == cid
    confirmed = CliRunner().invoke(cli, ["connections", "delete", cid], env=env, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.stdout.endswith(f"deleted {cid}\n")
    assert f"no connection {cid!r}" in refused(env, "connections", "show", cid)
    assert event_types(env)[0] == "connection.deleted"


def test_delete_with_yes_prints_what_was_deleted(env: dict[str, str], tmp_path: Path) -> None:
    org = create_org(env, "Acme")
    cid = saml_connection(env, org, tmp_path)
    before = json.loads(run(env, "connections", "show", cid, "--json"))
    assert json.loads(run(env, "connections", "delete", cid, "--yes", "--json")) == before
    assert json.loads(run(env, "connections", "list", "--json")) == {"connections": []}
    for command in ("show", "activate", "deactivate", "delete"):
        assert "no connection 'con_nobody'" in refused(env, "connections", command, "con_nobody")


def test_orgs_delete_asks_and_takes_everything_with_it(env: dict[str, str], tmp_path: Path) -> None:
    org = create_org(env, "Acme", "cus_1")
    keep = create_org(env, "Globex")
    run(env, "domains", "add", "--org", org, "acme.test")
    saml_connection(env, org, tmp_path)
    declined = CliRunner().invoke(cli, ["orgs", "delete", "cus_1"], env=env, input="n\n")
    assert declined.exit_code == 1
    assert f"Delete {org} (Acme) with its domains, connections" in declined.output
    deleted = json.loads(run(env, "orgs", "delete", "cus_1", "--yes", "--json"))
    assert (deleted["id"], deleted["name"], deleted["external_id"]) == (org, "Acme", "cus_1")
    assert set(deleted) == {"id", "name", "external_id", "created_at"}
    listed = json.loads(run(env, "orgs", "list", "--json"))["organizations"]
    assert [o["id"] for o in listed] == [keep]
    assert domains(env) == []
    assert json.loads(run(env, "connections", "list", "--json")) == {"connections": []}
    assert "no organization" in refused(env, "orgs", "delete", org, "--yes")
    assert run(env, "orgs", "delete", keep, "--yes") == f"deleted {keep} (Globex)\n"


def test_domains_delete_releases_the_claim(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    run(env, "domains", "add", "--org", org, "acme.test")
    run(env, "domains", "add", "--org", org, "acme.example")
    run(env, "domains", "verify", "--org", org, "acme.test", "--operator")
    released = json.loads(run(env, "domains", "delete", "--org", "cus_1", "ACME.test.", "--json"))
    assert released["name"] == "acme.test"
    assert released["verified"] is True
    assert released["verification"] is None
    assert set(released) == {"name", "verified", "verified_at", "created_at", "verification"}
    assert [d["name"] for d in domains(env)] == ["acme.example"]
    assert run(env, "domains", "delete", "--org", org, "acme.example") == (
        f"released acme.example from {org}\n"
    )
    assert "domain acme.test" in refused(env, "domains", "delete", "--org", org, "acme.test")
    assert event_types(env)[:2] == ["domain.deleted", "domain.deleted"]


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"gatehouse, version {version('gatehouse')}\n"
