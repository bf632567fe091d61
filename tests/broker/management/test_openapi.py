"""The OpenAPI document is generated from the operation table: it lists every operation the
API serves, with its scope, and a page renders it for people."""

from __future__ import annotations

from broker.management.api import build_operations
from tests.support.management_api import ApiWorld


def test_the_document_describes_every_served_operation(world: ApiWorld) -> None:
    response = world.http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "https://gatehouse.test/api/v1"}]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "https://gatehouse.test/token"
    served = {(op.method.lower(), op.path): op for op in build_operations(world.broker.management)}
    documented = {
        (method, path): spec
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    }
    assert set(documented) == set(served)
    for key, spec in documented.items():
        assert spec["security"] == [{"oauth2": [served[key].scope]}]
        assert "401" in spec["responses"]
        assert "403" in spec["responses"]
        problem = spec["responses"]["403"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}


def test_the_docs_page_lists_the_operations(world: ApiWorld) -> None:
    page = world.http.get("/api/v1/docs")
    assert page.status_code == 200
    assert "POST /api/v1/organizations" in page.text
    assert "organizations:write" in page.text
    assert "<script" not in page.text  # no external or inline script: the page is plain HTML
