"""`GATEHOUSE_UPSTREAM_CA_FILE`: a PEM file of CAs every request to an IdP trusts beside the
public ones (docs/security.md X-07). Read at start-up: a file that cannot serve is refused by
the variable's name, and one that can reaches the broker's outbound requests."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from broker.app import build_broker
from broker.errors import ConfigError
from broker.settings import Settings
from broker.upstream import outbound
from tests.support.config import ISSUER
from tests.support.private_ca import on_premises_idp, private_ca

VARIABLE = "GATEHOUSE_UPSTREAM_CA_FILE"
KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"GATEHOUSE_VAR_DIR": str(tmp_path), "GATEHOUSE_SECRET_KEY": KEY, **env}
    )


def test_unset_trusts_the_public_cas_alone(tmp_path: Path) -> None:
    assert settings(tmp_path).upstream.ca_certificates == ()
    assert settings(tmp_path, **{VARIABLE: " "}).upstream.ca_certificates == ()


def test_every_certificate_of_the_file_is_read(tmp_path: Path) -> None:
    root, issuing = private_ca("Corp Root"), private_ca("Corp Issuing")
    path = tmp_path / "corp-cas.pem"
    path.write_text(f"# the company's CAs\n{root.pem}\n{issuing.pem}")
    assert settings(tmp_path, **{VARIABLE: str(path)}).upstream.ca_certificates == (
        root.pem,
        issuing.pem,
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read {path} (No such file or directory); expected a PEM file of "
         "certificate authorities"),
        ("", "{path} is not a PEM file of certificates (-----BEGIN CERTIFICATE-----)"),
        ("corp-root.cer, see the wiki",
         "{path} is not a PEM file of certificates (-----BEGIN CERTIFICATE-----)"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
         "{path} is not a PEM file of certificates (-----BEGIN CERTIFICATE-----)"),
    ],
    ids=["missing", "empty", "not PEM", "a damaged certificate"],
)  # fmt: skip
def test_a_file_that_cannot_serve_is_refused_by_the_variable(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "cas.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as refused:
        settings(tmp_path, **{VARIABLE: str(path)})
    assert (refused.value.field, refused.value.message) == (VARIABLE, problem.format(path=path))


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(tmp_path, **{VARIABLE: str(tmp_path)})
    assert str(refused.value) == (
        f"{VARIABLE}: cannot read {tmp_path} (Is a directory); expected a PEM file of "
        "certificate authorities"
    )


def test_the_file_reaches_the_brokers_requests_to_an_on_premises_idp(tmp_path: Path) -> None:
    """From the environment to a TLS handshake, as an operator deploys it: production, the
    IdP's network listed, the company's CA in the file."""
    ca = private_ca("Corp Root")
    path = tmp_path / "corp-root.pem"
    path.write_text(ca.pem)
    environment = {
        "GATEHOUSE_ENV": "production",
        "GATEHOUSE_ISSUER": ISSUER,
        "GATEHOUSE_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "GATEHOUSE_UPSTREAM_ALLOW_NETWORKS": "127.0.0.0/8, ::1",
    }
    with on_premises_idp(ca, tmp_path / "idp", broker_issuer=ISSUER) as idp:
        url = f"{idp.issuer}/.well-known/openid-configuration"

        def issuer_read(**extra: str) -> str:
            broker = build_broker(settings(tmp_path, **environment, **extra))
            try:
                body = outbound.get(broker.http, url, policy=broker.outbound, max_bytes=65536)
            finally:
                broker.close()
            issuer: str = json.loads(body)["issuer"]
            return issuer

        with pytest.raises(outbound.OutboundError) as refused:
            issuer_read()
        assert refused.value.detail.startswith("the TLS certificate of localhost is not trusted")
        assert issuer_read(**{VARIABLE: str(path)}) == idp.issuer
