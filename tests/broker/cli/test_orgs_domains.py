"""`gatehouse orgs` and `gatehouse domains` against a real SQLite file. Refusals exit 1
with a message an operator can act on, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broker.cli import cli
from broker.settings import Settings
from broker.store.sql import SqlStore, make_engine
from broker.store.sql.migrate import upgrade_to_head


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "var").mkdir()
    values = {
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'gh.sqlite3'}",
        "GATEHOUSE_ISSUER": "http://127.0.0.1:8000",
    }
    engine = make_engine(values["GATEHOUSE_DATABASE_URL"])
    try:
        upgrade_to_head(engine)
    finally:
        engine.dispose()
    return values


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def refused(env: dict[str, str], *args: str) -> str:
    result: Result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert "Traceback" not in result.output
    return result.output


def create_org(env: dict[str, str], name: str, external_id: str | None = None) -> str:
    args = ["orgs", "create", "--name", name]
    if external_id is not None:
        args += ["--external-id", external_id]
    return run(env, *args).strip()


def domains(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(run(env, "domains", "list", *args, "--json"))[
        "domains"
    ]
    return listed


def test_orgs_create_and_list(env: dict[str, str]) -> None:
    plain = create_org(env, "Acme")
    assert plain.startswith("org_")
    created = json.loads(
        run(env, "orgs", "create", "--name", "Globex", "--external-id", "cus_42", "--json")
    )
    assert created["id"].startswith("org_")
    assert (created["name"], created["external_id"]) == ("Globex", "cus_42")
    listed = json.loads(run(env, "orgs", "list", "--json"))["organizations"]
    assert {o["id"]: o["external_id"] for o in listed} == {plain: None, created["id"]: "cus_42"}
    text = run(env, "orgs", "list")
    assert plain in text
    assert "cus_42" in text


def test_orgs_list_when_empty(env: dict[str, str]) -> None:
    assert "no organizations" in run(env, "orgs", "list")
    assert json.loads(run(env, "orgs", "list", "--json")) == {"organizations": []}


def test_orgs_create_refuses_a_taken_external_id(env: dict[str, str]) -> None:
    create_org(env, "Acme", "cus_1")
    out = refused(env, "orgs", "create", "--name", "Other", "--external-id", "cus_1")
    assert "external id 'cus_1' is already used" in out
    assert len(json.loads(run(env, "orgs", "list", "--json"))["organizations"]) == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("acme.test", "acme.test"),
        ("Acme.TEST.", "acme.test"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("faß.de", "xn--fa-hia.de"),
    ],
)
def test_domains_add_stores_the_normalised_name(
    env: dict[str, str], typed: str, stored: str
) -> None:
    org = create_org(env, "Acme")
    added = json.loads(run(env, "domains", "add", "--org", org, typed, "--json"))
    record = added.pop("verification")
    assert added == {
        "name": stored,
        "organization_id": org,
        "verified": False,
        "verified_at": None,
    }
    assert record["name"] == f"_gatehouse-challenge.{stored}"
    assert record["value"].startswith("gatehouse-domain-verification=")
    assert domains(env) == [added]


def test_domains_add_by_external_id_says_it_is_unverified(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    out = run(env, "domains", "add", "--org", "cus_1", "acme.test")
    assert "acme.test" in out
    assert "not verified" in out
    assert [d["organization_id"] for d in domains(env)] == [org]


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("exa mple.com", "space"),
        ("example.com..", "empty label"),
        ("localhost", "single label"),
        ("a_b.example", "not a valid domain"),
        ("ann@acme.test", "not a valid domain"),
    ],
)
def test_domains_add_refuses_an_invalid_domain(env: dict[str, str], typed: str, why: str) -> None:
    org = create_org(env, "Acme")
    out = refused(env, "domains", "add", "--org", org, typed)
    assert "invalid domain" in out
    assert why in out
    assert domains(env) == []


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("GMX.at", "gmx.at is a free email provider's domain"),
        ("yahoo.co.jp", "yahoo.co.jp is a free email provider's domain"),
        ("co.uk", "co.uk is a public suffix"),
    ],
)
def test_domains_add_refuses_a_shared_domain_saying_why(
    env: dict[str, str], typed: str, why: str
) -> None:
    org = create_org(env, "Acme")
    assert why in refused(env, "domains", "add", "--org", org, typed)
    assert domains(env) == []


def test_several_organizations_may_claim_a_domain_once_each(env: dict[str, str]) -> None:
    acme, mallory = create_org(env, "Acme"), create_org(env, "Mallory")
    run(env, "domains", "add", "--org", acme, "acme.test")
    out = run(env, "domains", "add", "--org", mallory, "ACME.test.")
    assert "not verified" in out
    out = refused(env, "domains", "add", "--org", acme, "acme.test")
    assert "already claimed by this organization" in out
    assert [(d["name"], d["organization_id"]) for d in domains(env)] == sorted(
        [("acme.test", acme), ("acme.test", mallory)]
    )


def test_domains_add_refuses_a_name_another_organization_verified(env: dict[str, str]) -> None:
    """docs/security.md D-01: once verified, a name can be claimed by nobody else."""
    acme, mallory = create_org(env, "Acme"), create_org(env, "Mallory")
    run(env, "domains", "add", "--org", acme, "acme.test")
    run(env, "domains", "verify", "--org", acme, "acme.test", "--operator")
    out = refused(env, "domains", "add", "--org", mallory, "acme.test")
    assert "verified by another organization" in out


def test_domains_refuse_an_unknown_organization(env: dict[str, str]) -> None:
    out = refused(env, "domains", "add", "--org", "org_nobody", "acme.test")
    assert "no organization" in out
    assert "org_nobody" in out
    assert "no organization" in refused(env, "domains", "list", "--org", "nobody")


def test_an_external_id_that_is_another_organizations_id_is_ambiguous(
    env: dict[str, str],
) -> None:
    first = create_org(env, "First")
    second = create_org(env, "Second", external_id=first)
    out = refused(env, "domains", "add", "--org", first, "acme.test")
    assert "use the id" in out
    assert first in out
    assert second in out


def test_domains_verify_is_an_operator_assertion(env: dict[str, str]) -> None:
    org = create_org(env, "Acme", "cus_1")
    run(env, "domains", "add", "--org", org, "acme.test")
    out = run(env, "domains", "verify", "--org", "cus_1", "Acme.Test", "--operator")
    assert "now verified" in out
    assert "operator" in out
    [listed] = domains(env)
    assert listed["verified"] is True
    assert listed["verified_at"] is not None
    # Idempotent: the first verification time stays.
    again = json.loads(run(env, "domains", "verify", "--org", org, "acme.test", "--json"))
    assert again == listed
    assert "already verified" in run(
        env, "domains", "verify", "--org", org, "acme.test", "--operator"
    )
    store = SqlStore(make_engine(Settings.from_env(env).database.url))
    try:
        with store.unit_of_work() as uow:
            events = uow.audit.list(kind="domain.verified")
    finally:
        store.engine.dispose()
    assert [(e.organization_id, e.detail["domain"], e.reason) for e in events] == [
        (org, "acme.test", "operator_assertion")
    ]


def test_domains_verify_refuses_a_domain_another_organization_verified(
    env: dict[str, str],
) -> None:
    acme, mallory = create_org(env, "Acme"), create_org(env, "Mallory")
    run(env, "domains", "add", "--org", acme, "acme.test")
    assert "domains add" in refused(env, "domains", "verify", "--org", mallory, "acme.test")
    run(env, "domains", "add", "--org", mallory, "acme.test")
    run(env, "domains", "verify", "--org", acme, "acme.test", "--operator")
    out = refused(env, "domains", "verify", "--org", mallory, "acme.test", "--operator")
    assert "verified by another organization" in out
    assert {d["organization_id"]: d["verified"] for d in domains(env)} == {
        acme: True,
        mallory: False,
    }


def test_domains_verify_refuses_an_unclaimed_or_invalid_domain(env: dict[str, str]) -> None:
    org = create_org(env, "Acme")
    assert "domains add" in refused(env, "domains", "verify", "--org", org, "acme.test")
    assert "not claimed" in refused(env, "domains", "verify", "--org", org, "acme")


def test_domains_list_all_or_one_organization(env: dict[str, str]) -> None:
    acme, globex = create_org(env, "Acme"), create_org(env, "Globex", "cus_g")
    run(env, "domains", "add", "--org", acme, "acme.test")
    run(env, "domains", "add", "--org", globex, "globex.test")
    run(env, "domains", "add", "--org", acme, "acme.example")
    run(env, "domains", "verify", "--org", acme, "acme.test", "--operator")
    assert [(d["name"], d["organization_id"], d["verified"]) for d in domains(env)] == [
        ("acme.example", acme, False),
        ("acme.test", acme, True),
        ("globex.test", globex, False),
    ]
    assert [d["name"] for d in domains(env, "--org", "cus_g")] == ["globex.test"]
    text = run(env, "domains", "list", "--org", acme)
    assert f"acme.test  {acme}  verified" in text
    assert f"acme.example  {acme}  unverified" in text
    assert "globex" not in text
    empty = create_org(env, "Empty")
    assert "no domains" in run(env, "domains", "list", "--org", empty)
