"""A company's private certificate authority, and an on-premises IdP behind it: the IdP
simulator (SAML metadata, an OpenID Provider) served over real TLS on a free loopback port,
with a server certificate for `localhost` and 127.0.0.1 that the CA issued."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idp_simulator.app import create_app as create_simulator
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import generate
from tests.support.live_server import free_port, serve_config

#: What the simulator's OpenID Provider knows Gatehouse by.
CLIENT_ID = "gatehouse"
CLIENT_SECRET = "on-premises-test-secret-not-a-real-one"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class PrivateCa:
    """A root CA (EC P-256) that issues server certificates."""

    name: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return _pem(self.certificate)

    def issue_server_certificate(self, *hosts: str) -> tuple[str, str]:
        """(certificate PEM, private key PEM) for a TLS server named `hosts` (names or IP
        addresses), valid now."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(hosts[0]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return _pem(certificate), key_pem.decode()


def private_ca(
    name: str = "Example Corp Root CA",
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ca: bool = True,
) -> PrivateCa:
    """A self-signed CA valid from 400 days ago to two years ahead (or as given). `ca=False`
    makes the same certificate without basicConstraints CA:TRUE: a leaf pasted by mistake."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=400))
        .not_valid_after(not_after or now + timedelta(days=730))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    return PrivateCa(name=name, certificate=builder.sign(key, hashes.SHA256()), key=key)


@dataclass(frozen=True)
class OnPremisesIdp:
    """The simulator behind TLS: its base URL (`https://localhost:PORT`), SAML metadata URL
    and OIDC issuer."""

    base_url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/metadata"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oidc"


@contextmanager
def on_premises_idp(
    ca: PrivateCa, folder: Path, *, broker_issuer: str, hosts: tuple[str, ...] | None = None
) -> Iterator[OnPremisesIdp]:
    """The IdP simulator on `https://localhost:PORT`, its certificate issued by `ca` for
    `hosts` (default: localhost and 127.0.0.1), answering logins for `broker_issuer`."""
    port = free_port()
    certificate, key = ca.issue_server_certificate(*(hosts or ("localhost", "127.0.0.1")))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "server.pem").write_text(certificate)
    (folder / "server.key").write_text(key)
    base_url = f"https://localhost:{port}"
    config = SimulatorConfig(
        base_url=base_url,
        key_dir=None,
        allowed_acs_prefixes=(broker_issuer,),
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    server = uvicorn.Config(
        create_simulator(config, keys=generate()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(folder / "server.pem"),
        ssl_keyfile=str(folder / "server.key"),
    )
    with serve_config(server):
        yield OnPremisesIdp(base_url=base_url)
