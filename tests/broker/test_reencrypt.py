"""Moving every stored secret to a new GATEHOUSE_SECRET_KEY (`broker.reencrypt`), on every
backend: signing keys, SAML SP keys, OIDC client secrets (settings and pending draft) and
`private_key_jwt` keys, encrypted under an old key, read through the key ring, re-encrypted
in batches, then read with the new key alone."""

from __future__ import annotations

import base64
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broker import reencrypt as reencrypt_module
from broker.clock import FixedClock
from broker.keys import KeyDecryptionError, KeyManager, SecretBox
from broker.keys.manager import signing_key_context
from broker.reencrypt import Reencryption, reencrypt
from broker.store import Store
from broker.upstream.oidc.config import OidcConnectionConfig, key_context as oidc_key_context
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata
from broker.upstream.saml.sp import open_sp_keys
from broker.upstream.urls import endpoints_for
from tests.support.certificates import certificate_pem
from tests.support.config import ISSUER
from tests.support.connection_configs import new_oidc_config, new_saml_config
from tests.support.factories import add_organization

OLD = secrets.token_bytes(32)
NEW = secrets.token_bytes(32)
OP = {"issuer": "https://idp.corp.test", "client_id": "gatehouse"}
#: 2 signing keys, 2 SAML SP keys, an OIDC client secret and its draft's, a private_key_jwt key
STORED_SECRETS = 7


def seed(store: Store, clock: FixedClock) -> None:
    """Two organizations (so that a batch of one pages through both)."""
    box = SecretBox(OLD)
    KeyManager(store, box, clock, retire_after=timedelta(minutes=15)).ensure_keys()
    now = clock.now()
    idp = IdpMetadata(
        entity_id="https://idp.corp.test/adfs/services/trust",
        sso_url="https://idp.corp.test/adfs/ls/",
        sso_binding="redirect",
        certificates=(certificate_pem(not_after=datetime.now(UTC) + timedelta(days=365)),),
    )
    saml = new_saml_config(
        idp, box=box, endpoints=endpoints_for(ISSUER, "con_saml", "saml"), now=now
    )
    oidc = new_oidc_config(OP, box=box, connection_id="con_oidc", client_secret="first")
    draft = new_oidc_config(OP, box=box, connection_id="con_oidc", client_secret="second")
    jwt_key = new_oidc_config(
        {**OP, "token_endpoint_auth_method": "private_key_jwt"},
        box=box,
        connection_id="con_jwt",
        client_secret=None,
    )
    with store.unit_of_work() as uow:
        add_organization(
            uow, org_id="org_a", name="A", domain="a.test", now=now,
            connection_id="con_saml", kind="saml", config=saml,
        )  # fmt: skip
        _, with_draft = add_organization(
            uow, org_id="org_b", name="B", domain="b.test", now=now,
            connection_id="con_oidc", kind="oidc", config=oidc,
        )  # fmt: skip
        uow.connections.save(replace(with_draft, draft=draft), expected_version=1)
        uow.connections.add(
            replace(with_draft, id="con_jwt", name="B JWT", config=jwt_key, version=1)
        )


def plaintexts(store: Store, box: SecretBox) -> dict[str, Any]:
    """Every stored secret, decrypted with `box` (KeyDecryptionError if one cannot be)."""
    found: dict[str, Any] = {}
    with store.unit_of_work() as uow:
        for record in uow.keys.list():
            context = signing_key_context(record.kid)
            found[record.kid] = box.decrypt(record.private_key_encrypted, context=context)
        saml = uow.connections.get("con_saml").config
        oidc = uow.connections.get("con_oidc")
        jwt_key = uow.connections.get("con_jwt").config
    sp = open_sp_keys(SamlConnectionConfig.parse(saml), box, "con_saml")
    found["saml"] = (sp.signing_key_pem, sp.encryption_key_pem)
    found["oidc"] = OidcConnectionConfig.parse(oidc.config).client_secret(box, "con_oidc")
    assert oidc.draft is not None
    found["draft"] = OidcConnectionConfig.parse(oidc.draft).client_secret(box, "con_oidc")
    blob = base64.b64decode(jwt_key["client_key"]["private_key_encrypted"])
    found["jwt"] = box.decrypt(blob, context=oidc_key_context("con_jwt"))
    return found


def test_reencrypt_moves_everything_to_the_new_key(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reencrypt_module, "BATCH_SIZE", 1)
    seed(store, FixedClock())
    expected = plaintexts(store, SecretBox(OLD))
    assert (expected["oidc"], expected["draft"]) == ("first", "second")
    ring = SecretBox(NEW, [OLD])
    # The environment rotated: the old key only decrypts, and everything still reads.
    assert plaintexts(store, ring) == expected
    with pytest.raises(KeyDecryptionError):
        plaintexts(store, SecretBox(NEW))
    assert reencrypt(store, ring, write=False) == Reencryption(0, STORED_SECRETS)

    assert reencrypt(store, ring) == Reencryption(STORED_SECRETS, 0)
    assert reencrypt(store, ring) == Reencryption(0, 0)  # idempotent
    assert reencrypt(store, ring, write=False) == Reencryption(0, 0)
    # GATEHOUSE_SECRET_KEYS_OLD removed: the new key alone decrypts everything.
    assert plaintexts(store, SecretBox(NEW)) == expected
    with pytest.raises(KeyDecryptionError):
        plaintexts(store, SecretBox(OLD))


def test_webhook_secrets_move_to_the_new_key_both_of_them(store: Store) -> None:
    """An endpoint during a rotation's overlap holds two secrets under the old key: both
    are counted, both move, and both still open with the new key alone."""
    from broker.model.webhooks import WebhookEndpoint
    from broker.webhooks import signing

    old, now = SecretBox(OLD), datetime(2026, 1, 1, tzinfo=UTC)
    endpoint = WebhookEndpoint(
        id="whe_1", url="https://hooks.example/in", event_types=("*",), organization_id=None,
        enabled=True, secret_encrypted=signing.seal(old, "whe_1", "whsec_current"),
        previous_secret_encrypted=signing.seal(old, "whe_1", "whsec_before", "previous"),
        previous_secret_expires_at=now, failing_since=None, disabled_reason=None,
        created_at=now, updated_at=now, created_by="cli",
    )  # fmt: skip
    with store.unit_of_work() as uow:
        uow.webhook_endpoints.add(endpoint)
    ring = SecretBox(NEW, [OLD])
    assert reencrypt(store, ring, write=False) == Reencryption(0, 2)
    assert reencrypt(store, ring) == Reencryption(2, 0)
    new_only = SecretBox(NEW)
    with store.unit_of_work() as uow:
        moved = uow.webhook_endpoints.get("whe_1")
    assert signing.unseal(new_only, "whe_1", moved.secret_encrypted) == "whsec_current"
    assert moved.previous_secret_encrypted is not None
    assert (
        signing.unseal(new_only, "whe_1", moved.previous_secret_encrypted, "previous")
        == "whsec_before"
    )
