"""The floor of a login (issue 18, item 1): what any broker must spend on it, measured in
the bench's own process in the same run, so that Gatehouse's CPU per login can be read as a
multiple of it.

Per login:
- one RS256 signature of an ID token (joserfc, a 2048-bit key as Gatehouse's, the claims a
  Gatehouse ID token carries);
- SAML only: one RSA-SHA256 signature of the AuthnRequest's query (Gatehouse signs every
  AuthnRequest: its SP metadata says AuthnRequestsSigned);
- SAML only: parsing the simulator's signed SAMLResponse (lxml) and verifying each of its
  signatures with xmlsec (the response the bench's logins received, captured by
  `bench.endpoints`; the simulator signs response and assertion, so two). The key is the
  certificate in the response's KeyInfo: the same certificate Gatehouse pins, so the same
  cost;
- OIDC only: one RS256 verification of the upstream's ID token (joserfc);
- the statements a login must run, as SQLAlchemy Core on the same database kind, grouped in
  the transactions a login needs (one per request that writes): authorize inserts the flow;
  the IdP return consumes the flow (a conditional UPDATE), upserts the identity, inserts the
  code and an audit row; token consumes the code and inserts the access token; userinfo
  reads the token. Their tables are minimal stand-ins (`floor_*`, primary keys and the
  indexes the lookups need), made beside Gatehouse's: in the bench's PostgreSQL schema, or a
  SQLite file next to Gatehouse's with the same engine settings (`make_engine`).

Each item is timed over many iterations with `time.process_time()` (CPU, not wall), after a
short warm-up, and divided. It is a floor, not a target: nothing here does HTTP, routing,
validation of the claims, or the security checks the catalogue requires.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc import jwt
from joserfc.jwk import RSAKey
from lxml import etree

from broker.store.sql import make_engine

_DS = "http://www.w3.org/2000/09/xmldsig#"
_WARMUP = 20


@dataclass(frozen=True)
class Floor:
    """ms of CPU per login, per item (name → ms)."""

    items: dict[str, float]

    @property
    def total_ms(self) -> float:
        return sum(self.items.values())

    def describe(self) -> str:
        return ", ".join(f"{name} {ms:.3f} ms" for name, ms in self.items.items())


def cpu_ms_per_call(work: Callable[[], object], iterations: int) -> float:
    """CPU ms per call of `work`, over `iterations` calls after a warm-up."""
    for _ in range(min(_WARMUP, iterations)):
        work()
    began = time.process_time()
    for _ in range(iterations):
        work()
    return (time.process_time() - began) * 1000 / iterations


def measure(
    protocol: str,
    *,
    database_url: str,
    var_dir: Path,
    saml_response: str | None,
    iterations: int = 500,
) -> Floor:
    """The floor of one `protocol` login, each item timed over `iterations` runs."""
    key = RSAKey.generate_key(2048, private=True)
    now = int(time.time())
    claims = {
        "iss": "http://127.0.0.1:8000",
        "sub": secrets.token_hex(16),
        "aud": "bench-client",
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "nonce": secrets.token_urlsafe(16),
        "at_hash": secrets.token_urlsafe(16),
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice Example",
        "org_id": secrets.token_hex(8),
        "connection_id": secrets.token_hex(8),
        "idp_type": protocol,
    }
    header = {"alg": "RS256", "kid": "bench"}
    items = {"RS256 sign": cpu_ms_per_call(lambda: jwt.encode(header, claims, key), iterations)}
    if protocol == "saml":
        # The AuthnRequest's signature (HTTP-Redirect binding: RSA-SHA256 over the query):
        # Gatehouse's SP metadata says AuthnRequestsSigned, so every hand-off signs one.
        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        query = f"SAMLRequest={secrets.token_urlsafe(600)}&RelayState={secrets.token_urlsafe(32)}"
        items["AuthnRequest sign"] = cpu_ms_per_call(
            lambda: signing_key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256()),
            iterations,
        )
    if protocol == "saml" and saml_response is not None:
        xml = base64.b64decode(saml_response)
        items["SAML parse"] = cpu_ms_per_call(lambda: etree.fromstring(xml), iterations)
        count, verify = _saml_verifier(xml)
        items[f"xmlsec verify x{count}"] = cpu_ms_per_call(verify, iterations)
    if protocol == "oidc":
        token = jwt.encode(header, claims, key)
        public = RSAKey.import_key(key.as_dict(private=False))
        items["RS256 verify"] = cpu_ms_per_call(
            lambda: jwt.decode(token, public, algorithms=["RS256"]), iterations
        )
    items["SQL (8 statements, 3 commits)"] = _sql_floor(database_url, var_dir, iterations)
    return Floor(items)


def _saml_verifier(xml: bytes) -> tuple[int, Callable[[], None]]:
    """(signatures in the response, a function verifying all of them once)."""
    root = etree.fromstring(xml)
    xmlsec.tree.add_ids(root, ["ID"])
    signatures = root.findall(f".//{{{_DS}}}Signature")
    certificate = root.find(f".//{{{_DS}}}X509Certificate")
    if not signatures or certificate is None or not certificate.text:
        raise ValueError("the captured SAMLResponse has no signature with a certificate")
    der = base64.b64decode("".join(certificate.text.split()))
    public = x509.load_der_x509_certificate(der).public_key()
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    # The bare key, as Gatehouse loads a pinned certificate's (`load_verification_keys`).
    key = xmlsec.Key.from_memory(pem, xmlsec.constants.KeyDataFormatPem, None)

    def verify() -> None:
        for signature in signatures:
            context = xmlsec.SignatureContext()
            context.key = key
            context.verify(signature)

    return len(signatures), verify


def _tables(metadata: sa.MetaData) -> tuple[sa.Table, ...]:
    text, stamp = sa.String(200), sa.DateTime(timezone=True)
    flows = sa.Table(
        "floor_flows", metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", text), sa.Column("params", sa.Text()),
        sa.Column("expires_at", stamp), sa.Column("consumed_at", stamp, nullable=True),
    )  # fmt: skip
    identities = sa.Table(
        "floor_identities", metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("connection_id", sa.String(64)), sa.Column("subject", text),
        sa.Column("email", text), sa.Column("last_login_at", stamp),
        sa.UniqueConstraint("connection_id", "subject"),
    )  # fmt: skip
    codes = sa.Table(
        "floor_codes", metadata,
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("identity_id", sa.String(64)), sa.Column("claims", sa.Text()),
        sa.Column("expires_at", stamp), sa.Column("consumed_at", stamp, nullable=True),
    )  # fmt: skip
    tokens = sa.Table(
        "floor_tokens", metadata,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("identity_id", sa.String(64)), sa.Column("claims", sa.Text()),
        sa.Column("expires_at", stamp),
    )  # fmt: skip
    audit = sa.Table(
        "floor_audit", metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", stamp), sa.Column("event", text), sa.Column("facts", sa.Text()),
    )  # fmt: skip
    return flows, identities, codes, tokens, audit


def _sql_floor(database_url: str, var_dir: Path, iterations: int) -> float:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{var_dir / 'floor.sqlite3'}"
    engine = make_engine(database_url)
    metadata = sa.MetaData()
    flows, identities, codes, tokens, audit = _tables(metadata)
    metadata.create_all(engine)
    insert_identity = (
        _upsert(engine.dialect.name, identities)
        if engine.dialect.name in ("sqlite", "postgresql")
        else None
    )
    claims = '{"sub": "x", "email": "alice@example.com", "nonce": "n"}' * 2

    def login() -> None:
        now = datetime.now(UTC)
        later = now + timedelta(minutes=5)
        flow, code, token = secrets.token_hex(16), secrets.token_hex(32), secrets.token_hex(32)
        with engine.begin() as db:  # authorize
            db.execute(sa.insert(flows).values(
                id=flow, client_id="c", params=claims, expires_at=later))  # fmt: skip
        with engine.begin() as db:  # IdP return
            consumed = db.execute(
                sa.update(flows)
                .where(flows.c.id == flow, flows.c.consumed_at.is_(None))
                .values(consumed_at=now)
            )
            assert consumed.rowcount == 1
            assert insert_identity is not None
            db.execute(insert_identity, {
                "id": secrets.token_hex(8), "connection_id": "k", "subject": "alice",
                "email": "alice@example.com", "last_login_at": now})  # fmt: skip
            db.execute(sa.insert(codes).values(
                code_hash=code, identity_id="i", claims=claims, expires_at=later))  # fmt: skip
            db.execute(sa.insert(audit).values(at=now, event="login", facts=claims))
        with engine.begin() as db:  # token
            db.execute(
                sa.update(codes)
                .where(codes.c.code_hash == code, codes.c.consumed_at.is_(None))
                .values(consumed_at=now)
            )
            db.execute(sa.insert(tokens).values(
                token_hash=token, identity_id="i", claims=claims, expires_at=later))  # fmt: skip
        with engine.connect() as db:  # userinfo
            db.execute(sa.select(tokens.c.claims).where(tokens.c.token_hash == token)).one()

    try:
        return cpu_ms_per_call(login, iterations)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def _upsert(dialect: str, identities: sa.Table) -> sa.Executable:
    """INSERT ... ON CONFLICT (connection_id, subject) DO UPDATE: a returning user."""
    from sqlalchemy.dialects import postgresql, sqlite

    if dialect == "postgresql":
        pg = postgresql.insert(identities)
        return pg.on_conflict_do_update(
            index_elements=["connection_id", "subject"],
            set_={"email": pg.excluded.email, "last_login_at": pg.excluded.last_login_at},
        )
    lite = sqlite.insert(identities)
    return lite.on_conflict_do_update(
        index_elements=["connection_id", "subject"],
        set_={"email": lite.excluded.email, "last_login_at": lite.excluded.last_login_at},
    )
