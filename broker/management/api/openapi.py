"""The OpenAPI 3.1 document, generated from the operation table and the very models the API
validates with (pydantic's JSON Schema is JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from broker.management.api.operations import Operation
from broker.management.api.problems import MEDIA_TYPE, Problem
from broker.model.management import SCOPES

_PATH_PARAM = re.compile(r"{(\w+)}")
_STANDARD_ERRORS = (401, 403, 429)
_ERROR_TEXT = {
    400: "Bad request",
    401: "Missing, invalid or expired access token",
    403: "The token lacks the operation's scope",
    404: "Not found (or another organization's: the two are indistinguishable)",
    409: "Conflict with the current state",
    415: "The body is not application/json",
    422: "Invalid input; `errors` points at each field",
    429: "Rate limited; retry after `Retry-After` seconds",
}


def build_openapi(operations: Sequence[Operation], *, issuer: str, version: str) -> dict[str, Any]:
    models = _models(operations)
    mode: Literal["validation"] = "validation"
    pairs = [(model, mode) for model in models]
    refs, schema = models_json_schema(pairs, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse management API",
            "version": version,
            "description": (
                "Create organizations, verify their domains, configure their SSO "
                "connections, send their IT admins portal links, and read what happened. "
                "Get a token with the client credentials grant at the token URL, with "
                f"`audience={issuer}/api/v1`."
            ),
        },
        "servers": [{"url": f"{issuer}/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{issuer}/token",
                            "scopes": {scope: scope.replace(":", " ") for scope in SCOPES},
                        }
                    },
                }
            },
        },
    }


def _models(operations: Sequence[Operation]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"Problem": Problem}
    for operation in operations:
        for model in (operation.body, operation.response):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _operation(operation: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "security": [{"oauth2": [operation.scope]}],
        "parameters": _parameters(operation),
        "responses": _responses(operation, refs),
    }
    if operation.description:
        spec["description"] = operation.description
    if operation.body is not None:
        spec["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(operation.body, "validation")]}},
        }
    return spec


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(operation.path)
    ]
    if operation.query is not None:
        schema = operation.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if operation.idempotent_post:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Retry safely: the same key and request replay the answer.",
            }
        )
    return parameters


def _responses(operation: Operation, refs: dict[Any, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK" if operation.status != 204 else "No content"}
    if operation.response is not None:
        schema = refs[(operation.response, "validation")]
        success["content"] = {operation.media_type: {"schema": schema}}
    responses: dict[str, Any] = {str(operation.status): success}
    problem = {MEDIA_TYPE: {"schema": refs[(Problem, "validation")]}}
    statuses = sorted({*_STANDARD_ERRORS, *operation.errors, 415 if operation.body else 401})
    if operation.body is not None or operation.query is not None:
        statuses = sorted({*statuses, 422})
    for status in statuses:
        responses[str(status)] = {"description": _ERROR_TEXT[status], "content": problem}
    return responses
