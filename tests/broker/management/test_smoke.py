from __future__ import annotations

from tests.support.management_api import ApiWorld


def test_create_and_read_an_organization(world: ApiWorld) -> None:
    admin = world.admin()
    created = admin.post("/organizations", json={"name": "Acme", "external_id": "acme"})
    assert created.status_code == 201, created.text
    org = created.json()
    assert created.headers["location"] == f"/api/v1/organizations/{org['id']}"
    assert admin.get(f"/organizations/{org['id']}").json() == org
    domain = admin.post(f"/organizations/{org['id']}/domains", json={"name": "Acme.Test"})
    assert domain.status_code == 201, domain.text
    assert domain.json()["verification"]["name"] == "_gatehouse-challenge.acme.test"
