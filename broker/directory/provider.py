"""What Gatehouse's SCIM service announces (RFC 7643 §5-7) and serves: the RFC's User
(with the enterprise extension) and Group, PATCH, filters (the subset `filters` answers),
ETags; no bulk, no sort, no password change, no cursors. Built once per process."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from scim2_models import (
    Context,
    NotFoundException,
    Path,
    Reference,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimProvider,
    ServiceProviderConfig,
)
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.utils import load_default_resource_types, load_default_schemas

#: The most resources one page holds, whatever `count` asks (RFC 7644 §3.4.2.4).
MAX_RESULTS = 200

_CONFIG = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "documentationUri": "https://github.com/gatehouse/gatehouse#scim-quirks",
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": MAX_RESULTS},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": True},
    "authenticationSchemes": [
        {
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The directory's token, shown once when it was created or rotated",
            "primary": True,
        }
    ],
}


@functools.cache
def provider() -> ScimProvider:
    return ScimProvider.from_discovery(
        load_default_schemas().values(),
        load_default_resource_types().values(),
        config=ServiceProviderConfig.model_validate(_CONFIG),
    )


class GatehouseScimService(ScimService):
    """scim2-server's service with two changes:

    - a PATCH answers 200 with the resource (RFC 7644 §3.5.2 allows 200 or 204). Okta
      reads the user from the PATCH answer, and Entra's validator expects it;
    - `publish` works in place. scim2-server deep-copies the resource first, because its
      in-memory storage hands out the objects it keeps; `DirectoryStorage` builds every
      resource it returns afresh from its row and keeps none, so the copy (a third of a
      create's CPU) protects nothing. The reference attributes to rewrite are found once
      per model, not walked and resolved on every response.
    """

    def publish(self, base_url: str, resource: Resource[Any]) -> Resource[Any]:
        assert resource.meta is not None
        assert resource.id is not None
        location = self.resource_location(
            base_url, self.get_resource_type_of(resource), resource.id
        )
        resource.meta = resource.meta.model_copy(update={"location": location})
        for head, sub_field in _reference_paths(type(resource)):
            entries = head.get(resource)
            if sub_field is None:
                head.set(resource, self._located(base_url, entries), strict=False)
                continue
            for entry in entries if isinstance(entries, list) else [entries]:
                if entry is not None:
                    setattr(entry, sub_field, self._located(base_url, getattr(entry, sub_field)))
        return resource

    def _located(self, base_url: str, reference: Any) -> Any:
        if isinstance(reference, list):
            return [self._located(base_url, item) for item in reference]
        return None if reference is None else self.reference_location(base_url, reference)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        published = self.publish(base_url, resource)
        return self.resource_response(
            published, Context.RESOURCE_REPLACEMENT_RESPONSE, response_parameters
        )


@functools.cache
def _reference_paths(model: type[Resource[Any]]) -> tuple[tuple[Path[Any], str | None], ...]:
    """The attributes of `model` holding references to other resources (not `external`
    or `uri` ones), as scim2-server's `_publish_references` finds them: (the path of the
    attribute, or of the complex attribute holding it; the sub-attribute's name or None)."""
    found: list[tuple[Path[Any], str | None]] = []
    for path in Path[model].iter_paths(target_type=[Reference]):  # type: ignore[valid-type]
        binding = path.resolve()
        assert binding is not None
        target_type = cast(type[Reference[Any]], binding.target_type)
        reference_types = set(target_type.__reference_types__)
        if not reference_types or reference_types & {"external", "uri"}:
            continue
        if binding.sub_field_name is None:
            found.append((path, None))
            continue
        head = f"{path.schema}:{path.parts[0]}" if path.schema else path.parts[0]
        found.append((Path(head), binding.sub_field_name))
    return tuple(found)


@functools.cache
def service() -> ScimService:
    return GatehouseScimService(provider())


def resource_type(name: str) -> ResourceType:
    return next(rt for rt in provider().resource_types if rt.id == name)


@functools.cache
def models() -> dict[str, type[Resource[Any]]]:
    return {name: service().get_model(resource_type(name)) for name in ("User", "Group")}


_WARM_UP_BASE = "https://warm-up.invalid/scim/v2"
#: The generic specialisations the warm-up built, held here: pydantic caches them in a
#: WeakValueDictionary, so without a strong reference the garbage collector drops them
#: and a request thread builds them again (12 ms each, and the 3.11 `ast` race below).
_KEPT: set[type[Any]] = set()


def warm_up() -> None:
    """Serve one request of every kind, once, against scim2-server's in-memory storage,
    before any request thread does.

    Why: scim2-models builds generic specialisations (`PatchOp[User]`, `ListResponse[...]`)
    on first use, and its models set pydantic's `use_attribute_docstrings`, which reads
    each new class's source with `ast.parse`. CPython 3.11's `ast` module is not safe to
    use from two threads at once ("AST constructor recursion depth mismatch", fixed in
    3.12): two first requests arriving together could fail with a 500. Building every
    specialisation here, in the composition root's thread, leaves none to build later."""
    import gc
    import json

    from pydantic._internal import _generics
    from scim2_server.handler import ScimHandler
    from scim2_server.memory import InMemoryStorage
    from scim2_server.requests import ScimRequest

    handler = ScimHandler(service(), InMemoryStorage())

    def call(
        method: str, path: str, body: object = None, query: dict[str, str] | None = None
    ) -> dict[str, Any]:
        encoded = b"" if body is None else json.dumps(body).encode()
        request = ScimRequest(
            method=method, base_url=_WARM_UP_BASE, path=path, query=query or {},
            headers={"Content-Type": "application/scim+json"}, body=encoded,
        )  # fmt: skip
        answer = handler.handle(request).body
        return answer or {}

    # No collection while the warm-up runs: what it built is still in the cache after it.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _warm_up_calls(call)
        _KEPT.update(_generics._GENERIC_TYPES_CACHE.values())
    finally:
        if collecting:
            gc.enable()


def _warm_up_calls(call: Callable[..., dict[str, Any]]) -> None:
    patch_schema = ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    user = call("POST", "/Users", {"schemas": [resource_type("User").schema_], "userName": "w"})
    group = call(
        "POST", "/Groups", {"schemas": [resource_type("Group").schema_], "displayName": "w"}
    )
    for endpoint, created, key, value in (
        ("/Users", user, "userName", "w2"),
        ("/Groups", group, "displayName", "w2"),
    ):
        one = f"{endpoint}/{created['id']}"
        call("GET", one)
        call("GET", endpoint, query={"filter": f'{key} eq "w"', "startIndex": "1", "count": "1"})
        call("PUT", one, {**created, key: value})
        call(
            "PATCH",
            one,
            {
                "schemas": patch_schema,
                "Operations": [{"op": "replace", "path": key, "value": "w3"}],
            },
        )
        call("DELETE", one)
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        call("GET", path)
    call("GET", "/", query={"count": "1"})
    service().error_response(NotFoundException(detail="warm-up"))
