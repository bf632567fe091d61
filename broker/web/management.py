"""The management API's routes: one thin endpoint per `Operation`, plus its OpenAPI
document and a browsable page of it. Everything between the request and the response is
`ManagementApi.handle`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from broker import __version__
from broker.http import Page
from broker.management.api.dispatch import ManagementApi
from broker.management.api.openapi import build_openapi
from broker.management.api.operations import Operation
from broker.model.client_address import TrustedProxies
from broker.web.adapt import render, to_http_request, to_response


class ApiEndpoints:
    def __init__(
        self,
        *,
        issuer: str,
        proxies: TrustedProxies,
        api: ManagementApi,
        operations: Sequence[Operation],
        templates: Jinja2Templates,
    ) -> None:
        self._issuer = issuer
        self._proxies = proxies
        self._api = api
        self._operations = list(operations)
        self._templates = templates
        self._document = build_openapi(self._operations, issuer=issuer, version=__version__)
        self._document_bytes = json.dumps(self._document).encode()
        self._schemas = _schema_tables(self._document["components"]["schemas"])

    def routes(self) -> list[BaseRoute]:
        by_path: dict[str, list[Operation]] = {}
        for operation in self._operations:
            by_path.setdefault(operation.path, []).append(operation)
        routes: list[BaseRoute] = [
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/docs", self.docs, methods=["GET"]),
        ]
        for path, operations in by_path.items():
            routes.append(
                Route(path, self._endpoint(operations), methods=[o.method for o in operations])
            )
        return routes

    def _endpoint(self, operations: list[Operation]):  # type: ignore[no-untyped-def]
        by_method = {operation.method: operation for operation in operations}

        async def endpoint(request: Request) -> Response:
            operation = by_method[request.method]
            req = await to_http_request(request, issuer=self._issuer, proxies=self._proxies)
            path = {k: str(v) for k, v in request.path_params.items()}
            result = await run_in_threadpool(self._api.handle, operation, req, path)
            return to_response(result, request, self._templates)

        return endpoint

    async def openapi(self, request: Request) -> Response:
        return Response(
            self._document_bytes,
            media_type="application/json",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def docs(self, request: Request) -> Response:
        context = {
            "document": self._document,
            "operations": self._operations,
            "schemas": self._schemas,
            "issuer": self._issuer,
        }
        return render(request, self._templates, Page(template="api_docs.html", context=context))


def _schema_tables(schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The component schemas as rows a template can print without knowing JSON Schema."""
    tables = []
    for name, schema in sorted(schemas.items()):
        required = set(schema.get("required", []))
        fields = [
            {
                "name": field,
                "type": _type_label(prop),
                "required": field in required,
                "description": prop.get("description", ""),
            }
            for field, prop in schema.get("properties", {}).items()
        ]
        tables.append(
            {"name": name, "description": schema.get("description", ""), "fields": fields}
        )
    return tables


def _type_label(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type_label(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"array of {_type_label(prop.get('items', {}))}"
    if "const" in prop:
        return repr(prop["const"])
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    return str(prop.get("type", "any"))
