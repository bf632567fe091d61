"""Microsoft Entra ID's provisioning service, as Microsoft documents it, quirks included.

Sources (public, read for this module):
- Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint in
  Microsoft Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/
  use-scim-to-provision-users-and-groups): the request bodies (create with the enterprise
  extension and `meta.resourceType`, PATCH with `emails[type eq "work"].value`, group
  create without members then member PATCHes, group lookup by displayName with
  `excludedAttributes=members`, test connection by a filter on a userName that does not
  exist).
- Microsoft Learn, "Known issues and resolutions with SCIM 2.0 protocol compliance of the
  Microsoft Entra user provisioning service" (.../application-provisioning-config-problem-
  scim-compatibility): the behaviours of jobs without the `aadOptscim062020` flag, which
  the service still sends for many applications: capitalised op names, booleans as the
  strings "True"/"False", member removal by a filtered path, PATCH ops without `path`.
- Delinea, "Supported SCIM Endpoints" for Entra ID (docs.delinea.com/online-help/
  delinea-platform/identity-providers/entra-id/entra-id-scim-provisioning-scim-endpoints.htm):
  lookups by `userName` and by `externalId`; "Operations specifies the update operation:
  Replace, Add, or Remove"; a soft delete is a PATCH of `active`, DELETE only 30 days on.

What this dialect sends:
- lookups `userName eq` then `externalId eq` (the matching attributes in precedence order);
- `Replace`/`Add`/`Remove`, capitalised; `active` as the string "False" or "True";
- a rename as a `Replace` of `name.familyName` plus a `Replace` without `path` whose value
  is an object (`{"displayName": ...}`); an email change on `emails[type eq "work"].value`
  plus `userName`;
- groups: lookup by displayName, POST without members, then `Add` PATCHes in batches;
  removal as one `Remove` op a member on `members[value eq "..."]` (no `value`);
- a `count=0` read (a totalResults probe) beside the test-connection filter.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from idp_simulator.scim.client import Answer, ScimClient
from idp_simulator.scim.dialect import (
    CORE_USER,
    ENTERPRISE_USER,
    GROUP,
    PATCH_OP,
    Dialect,
    quoted,
)
from idp_simulator.scim.directory import SimGroup, SimUser

__all__ = ["EntraDialect"]


class EntraDialect(Dialect):
    name: ClassVar[str] = "entra"
    member_batch: ClassVar[int] = 50
    #: Entra capitalises PATCH op names ("Add", "Remove"; RFC 7644 §3.5.2 spells them lower).
    ops: ClassVar[Mapping[str, str]] = {"add": "Add", "remove": "Remove"}

    def probe(self, client: ScimClient) -> Answer:
        """Test connection: a userName nobody has, then a count-only read."""
        absent = f"{uuid.uuid4()}@test.example"
        client.send("GET", "Users", params={"filter": f"userName eq {quoted(absent)}"})
        return client.send("GET", "Users", params={"startIndex": 1, "count": 0})

    def matching(self, user: SimUser) -> Sequence[tuple[str, str]]:
        return (("userName", user.user_name), ("externalId", user.external_id))

    def user_body(self, user: SimUser) -> dict[str, Any]:
        return {
            "schemas": [CORE_USER, ENTERPRISE_USER],
            "externalId": user.external_id,
            "userName": user.user_name,
            "active": user.active,
            "displayName": user.display_name,
            "emails": [{"primary": True, "type": "work", "value": user.email}],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": user.display_name,
                "familyName": user.family_name,
                "givenName": user.given_name,
            },
            "roles": [],
        }

    def update_user(
        self, client: ScimClient, user_id: str, before: SimUser, after: SimUser
    ) -> Answer:
        operations: list[dict[str, Any]] = []
        if after.family_name != before.family_name or after.given_name != before.given_name:
            operations.append(
                {"op": "Replace", "path": "name.familyName", "value": after.family_name}
            )
            operations.append(
                {"op": "Replace", "path": "name.givenName", "value": after.given_name}
            )
            operations.append({"op": "Replace", "value": {"displayName": after.display_name}})
        if after.email != before.email:
            operations.append(
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": after.email}
            )
        if after.user_name != before.user_name:
            operations.append({"op": "Replace", "path": "userName", "value": after.user_name})
        if not operations:
            return Answer(status=204, body=None)
        return client.send(
            "PATCH", f"Users/{user_id}", body={"schemas": [PATCH_OP], "Operations": operations}
        )

    def set_active(self, client: ScimClient, user_id: str, user: SimUser, active: bool) -> Answer:
        operation = {"op": "Replace", "path": "active", "value": "True" if active else "False"}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return client.send("PATCH", f"Users/{user_id}", body=body)

    def provision_group(
        self, client: ScimClient, group: SimGroup, member_ids: Sequence[str]
    ) -> str | None:
        group_id = self.find_group(client, group, {"excludedAttributes": "members"})
        if group_id is None:
            body = {
                "schemas": [GROUP],
                "externalId": group.external_id,
                "displayName": group.display_name,
                "meta": {"resourceType": "Group"},
            }
            group_id = client.send("POST", "Groups", body=body).resource_id()
        if group_id is not None and member_ids:
            self.add_members(client, group_id, member_ids)
        return group_id
