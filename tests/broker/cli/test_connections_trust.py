"""`--ca-bundle` on `gatehouse connections create-saml` and `create-oidc`: an on-premises IdP
(served over real TLS, its certificate from a private CA) is reached with the connection's
own bundle; without it the command says the certificate is not trusted, not a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.cli.test_orgs_domains import create_org, env, refused, run
from tests.support.private_ca import (
    CLIENT_ID,
    CLIENT_SECRET,
    OnPremisesIdp,
    PrivateCa,
    on_premises_idp,
    private_ca,
)

__all__ = ["env"]  # the fixture, re-used

ISSUER = "http://127.0.0.1:8000"  # the CLI's broker, as `env` configures it
NOT_TRUSTED = (
    "the TLS certificate of localhost is not trusted (unable to get local issuer certificate)"
)


@pytest.fixture
def ca() -> PrivateCa:
    return private_ca("Example Corp Root CA")


@pytest.fixture
def idp(ca: PrivateCa, tmp_path: Path) -> Iterator[OnPremisesIdp]:
    with on_premises_idp(ca, tmp_path / "idp", broker_issuer=ISSUER) as served:
        yield served


@pytest.fixture
def bundle(ca: PrivateCa, tmp_path: Path) -> Path:
    path = tmp_path / "corp-root.pem"
    path.write_text(ca.pem)
    return path


def test_create_oidc_with_the_idps_ca_bundle(
    env: dict[str, str], idp: OnPremisesIdp, bundle: Path, tmp_path: Path
) -> None:
    create_org(env, "Example Corp", "corp")
    secret = tmp_path / "secret.txt"
    secret.write_text(CLIENT_SECRET)
    args = ["connections", "create-oidc", "--org", "corp", "--issuer", idp.issuer,
            "--client-id", CLIENT_ID, "--client-secret-file", str(secret)]  # fmt: skip
    assert NOT_TRUSTED in refused(env, *args)
    created = json.loads(run(env, *args, "--ca-bundle", str(bundle), "--json"))
    assert created["redirect_uri"] == f"{ISSUER}/oidc/{created['id']}/callback"


def test_create_saml_with_the_idps_ca_bundle(
    env: dict[str, str], idp: OnPremisesIdp, bundle: Path
) -> None:
    create_org(env, "Example Corp", "corp")
    args = ["connections", "create-saml", "--org", "corp", "--metadata-url", idp.metadata_url]
    assert NOT_TRUSTED in refused(env, *args)
    created = json.loads(run(env, *args, "--ca-bundle", str(bundle), "--json"))
    assert created["idp_entity_id"] == idp.metadata_url


def test_a_bundle_file_that_is_not_pem_is_refused_in_words(
    env: dict[str, str], idp: OnPremisesIdp, tmp_path: Path
) -> None:
    create_org(env, "Example Corp", "corp")
    leaf = tmp_path / "server.cer"
    leaf.write_bytes(b"\x30\x82\x01\x0a binary DER, not PEM")
    said = refused(
        env, "connections", "create-saml", "--org", "corp", "--metadata-url", idp.metadata_url,
        "--ca-bundle", str(leaf),
    )  # fmt: skip
    assert "not PEM certificates (-----BEGIN CERTIFICATE-----)" in said
