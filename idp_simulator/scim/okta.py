"""Okta's SCIM 2.0 client, as Okta documents it.

Sources (public, read for this module):
- Okta, "Okta and SCIM Version 2.0" (developer.okta.com/docs/api/openapi/okta-scim/guides/
  scim-20): the create flow ("Determine if the User object exists" by a `userName eq`
  filter, then POST), the request bodies reproduced below, updates and deactivation, and
  Group Push (POST /Groups, then membership PATCHes on `members`).
- Delinea, "Okta SCIM Endpoint Reference" (docs.delinea.com/online-help/delinea-platform/
  scim/okta-scim-provisioning/okta-scim-endpoint-reference.htm): the test-connection read
  `GET /Users?startIndex=1&count=2` ("count=2 is a constant"), and that integrations built
  on Okta's SCIM template (AIW) update with a full PUT, so a server that treats a missing
  attribute as "remove it" loses data.

What this dialect sends, and why each is a quirk a server must survive:
- lookups carry `startIndex=1&count=100` beside the filter, as Okta's do;
- the POST body has `groups: []`, `locale` and `displayName` besides the core attributes;
- a profile change is `GET /Users/{id}` then `PUT /Users/{id}` with the whole user
  (`active: true` included: a PUT without it reads as a suspension);
- deactivation is `PATCH` with a path-less replace whose value is `{"active": false}`
  (never DELETE);
- groups are looked up by displayName (Group Push links a group of the same name), created
  with `members: []`, then filled by `PATCH` `add` on `path: "members"` with a value list;
  removals are one `remove` op a member on `members[value eq "..."]`, lower-case. That
  form is how we remember Okta's reference showing a removal; the stored excerpts we could
  read here do not include that example, so it is the one request of this module not
  checked against a quoted source. The other reading, `remove` on plain `members` with a
  value list, has no meaning in RFC 7644 §3.5.2.2 (`remove` takes no value; on a plain
  multi-valued path it drops every member), and scim2-server refuses it with 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from idp_simulator.scim.client import Answer, ScimClient
from idp_simulator.scim.dialect import CORE_USER, GROUP, PATCH_OP, Dialect, quoted
from idp_simulator.scim.directory import SimGroup, SimUser

__all__ = ["OktaDialect"]


class OktaDialect(Dialect):
    name: ClassVar[str] = "okta"
    member_batch: ClassVar[int] = 100

    def probe(self, client: ScimClient) -> Answer:
        """Okta's "Test API Credentials": a two-user page."""
        return client.send("GET", "Users", params={"startIndex": 1, "count": 2})

    def find_user(self, client: ScimClient, user: SimUser) -> str | None:
        params: dict[str, str | int] = {
            "filter": f"userName eq {quoted(user.user_name)}",
            "startIndex": 1,
            "count": 100,
        }
        answer = client.send("GET", "Users", params=params)
        found = answer.resources()
        if answer.ok and found and isinstance(found[0].get("id"), str):
            return str(found[0]["id"])
        return None

    def user_body(self, user: SimUser) -> dict[str, Any]:
        return {
            "schemas": [CORE_USER],
            "userName": user.user_name,
            "name": {"givenName": user.given_name, "familyName": user.family_name},
            "emails": [{"primary": True, "value": user.email, "type": "work"}],
            "displayName": user.display_name,
            "locale": "en-US",
            "externalId": user.external_id,
            "groups": [],
            "active": user.active,
        }

    def update_user(
        self, client: ScimClient, user_id: str, before: SimUser, after: SimUser
    ) -> Answer:
        client.send("GET", f"Users/{user_id}")
        return client.send("PUT", f"Users/{user_id}", body={"id": user_id, **self.user_body(after)})

    def set_active(self, client: ScimClient, user_id: str, user: SimUser, active: bool) -> Answer:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "value": {"active": active}}],
        }
        return client.send("PATCH", f"Users/{user_id}", body=body)

    def provision_group(
        self, client: ScimClient, group: SimGroup, member_ids: Sequence[str]
    ) -> str | None:
        group_id = self.find_group(client, group)
        if group_id is None:
            body = {"schemas": [GROUP], "displayName": group.display_name, "members": []}
            group_id = client.send("POST", "Groups", body=body).resource_id()
        if group_id is not None and member_ids:
            self.add_members(client, group_id, member_ids)
        return group_id
