"""The IdP simulator over TLS for `python -m bench.logins --https-idp` (issue 18, item 2).

A test CA is generated at bench start (EC P-256, in memory, files under the bench's temp
dir); it issues the simulator a loopback certificate (IP SAN 127.0.0.1). Gatehouse is told
to trust the CA the way an operator would, `GATEHOUSE_UPSTREAM_CA_FILE`, so the measured
logins pay for what an https IdP costs: TLS handshakes toward the IdP (OIDC back channel,
metadata) and whatever connection reuse Gatehouse does or does not do. The browser side
(the virtual users) trusts the same CA.

`python -m bench.tls_idp` serves the simulator like `python -m idp_simulator`, with the
certificate and key named by BENCH_TLS_CERT and BENCH_TLS_KEY.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    """The CA certificate everyone trusts, and the simulator's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_ca(folder: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A fresh root CA and a server certificate for `host` (an IP address), written under
    `folder`. Valid from a day ago for a week: the bench lasts minutes."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Gatehouse bench test CA"))
        .issuer_name(_name("Gatehouse bench test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal once drained; ignoring it ends with status 0."""


def main() -> None:
    """The simulator as `python -m idp_simulator` serves it, over TLS."""
    import uvicorn

    from idp_simulator.app import create_app
    from idp_simulator.config import SimulatorConfig

    config = SimulatorConfig.from_env()
    app = create_app(config)
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _stopped)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        log_level="warning",
        ssl_certfile=os.environ["BENCH_TLS_CERT"],
        ssl_keyfile=os.environ["BENCH_TLS_KEY"],
    )


if __name__ == "__main__":
    main()
