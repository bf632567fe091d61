"""The simulator's signing-certificate rollover (POST /rollover): what its metadata lists
and which key signs, step by step, as the refresh tests rely on."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree
from starlette.testclient import TestClient

from idp_simulator.app import create_app
from idp_simulator.config import SimulatorConfig
from idp_simulator.keys import IdpKeys, generate
from idp_simulator.saml.idp import SimulatedIdp

KEYS = generate("current")
NEXT = generate("next")
DS = "{http://www.w3.org/2000/09/xmldsig#}"
CONFIG = SimulatorConfig(
    base_url="https://idp.test", key_dir=None, allowed_acs_prefixes=("https://sp.test",)
)


def simulator() -> TestClient:
    app = create_app(CONFIG, keys=KEYS, clock=lambda: datetime(2026, 12, 5, tzinfo=UTC),
                     next_keys=NEXT)  # fmt: skip
    return TestClient(app, base_url="https://idp.test")


def listed(client: TestClient) -> list[str]:
    root = etree.fromstring(client.get("/metadata").content)
    return ["".join((e.text or "").split()) for e in root.iter(f"{DS}X509Certificate")]


def b64(keys: IdpKeys) -> str:
    return keys.certificate_base64()


def test_publish_then_retire_changes_what_the_metadata_lists() -> None:
    client = simulator()
    assert listed(client) == [b64(KEYS)]
    assert client.post("/rollover", data={"step": "publish"}).status_code == 200
    assert listed(client) == [b64(KEYS), b64(NEXT)]
    assert client.post("/rollover", data={"step": "switch"}).status_code == 200
    assert listed(client) == [b64(KEYS), b64(NEXT)]
    assert client.post("/rollover", data={"step": "retire"}).status_code == 200
    assert listed(client) == [b64(NEXT)]


def test_steps_are_taken_in_order_only() -> None:
    client = simulator()
    refused = client.post("/rollover", data={"step": "retire"})
    assert refused.status_code == 409
    assert "publish" in refused.text
    assert client.post("/rollover", data={"step": "nonsense"}).status_code == 409
    assert listed(client) == [b64(KEYS)]


def test_the_switch_changes_the_signing_key() -> None:
    idp = SimulatedIdp(CONFIG, KEYS,
                       lambda: datetime(2026, 12, 5, tzinfo=UTC), next_keys=NEXT)  # fmt: skip
    idp.rollover("publish")
    assert idp.signing_keys() is KEYS
    idp.rollover("switch")
    assert idp.signing_keys() is NEXT
