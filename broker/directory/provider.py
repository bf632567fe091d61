"""What Gatehouse's SCIM service announces (RFC 7643 §5-7) and serves: the RFC's User
(with the enterprise extension) and Group, PATCH, filters (the subset `filters` answers),
ETags; no bulk, no sort, no password change, no cursors. Built once per process."""

from __future__ import annotations

import functools
from typing import Any

from scim2_models import (
    Context,
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
    """scim2-server's service with one change: a PATCH answers 200 with the resource
    (RFC 7644 §3.5.2 allows 200 or 204). Okta reads the user from the PATCH answer, and
    Entra's validator expects it."""

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
def service() -> ScimService:
    return GatehouseScimService(provider())


def resource_type(name: str) -> ResourceType:
    return next(rt for rt in provider().resource_types if rt.id == name)


@functools.cache
def models() -> dict[str, type[Resource[Any]]]:
    return {name: service().get_model(resource_type(name)) for name in ("User", "Group")}
