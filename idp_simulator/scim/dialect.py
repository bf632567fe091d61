"""What a directory sends, as one interface with a module per vendor (`okta`, `entra`).

A dialect turns a directory event (this person exists, was renamed, left; this group has
these members) into the exact SCIM requests that vendor sends, in its order and with its
quirks. The scenarios (`scenarios.py`) only speak in those events, so every scenario plays
in every dialect.

Shared by both vendors and written here once: the user lookup by filter before a create
(both look for an existing account to link before creating one), and the paged listing
(RFC 7644 §3.4.2.4: `startIndex` is 1-based, `count` a page size the server may lower).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from idp_simulator.scim.client import Answer, ScimClient
from idp_simulator.scim.directory import SimGroup, SimUser

__all__ = [
    "CORE_USER",
    "ENTERPRISE_USER",
    "GROUP",
    "LIST_RESPONSE",
    "PATCH_OP",
    "Dialect",
    "quoted",
]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

#: Pages past this are not read: a server whose `totalResults` never ends (or lies) cannot
#: hold a listing forever.
MAX_PAGES = 1_000


def quoted(value: str) -> str:
    """A filter string literal (RFC 7644 §3.4.2.2 uses JSON strings)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dialect(ABC):
    """One vendor's way of provisioning. Each method sends that vendor's requests for one
    event and returns the final answer (or the resource id), never raising on a refusal:
    the caller records and counts it."""

    name: ClassVar[str]
    #: Members per group PATCH: both vendors split large membership changes.
    member_batch: ClassVar[int]
    #: PATCH op names as the vendor spells them (RFC 7644's are lower case; Entra
    #: capitalises them).
    ops: ClassVar[Mapping[str, str]] = {"add": "add", "remove": "remove"}

    @abstractmethod
    def probe(self, client: ScimClient) -> Answer:
        """The vendor's "test connection" read, sent before a sync."""

    # Users -------------------------------------------------------------------------------

    def find_user(self, client: ScimClient, user: SimUser) -> str | None:
        """The id of the account this person already has there, by the vendor's matching
        attribute(s), or None."""
        for attribute, value in self.matching(user):
            answer = client.send(
                "GET", "Users", params={"filter": f"{attribute} eq {quoted(value)}"}
            )
            found = answer.resources()
            if answer.ok and found and isinstance(found[0].get("id"), str):
                return str(found[0]["id"])
        return None

    def matching(self, user: SimUser) -> Sequence[tuple[str, str]]:
        """(attribute, value) pairs the vendor filters on before a create, in order."""
        return (("userName", user.user_name),)

    def provision_user(self, client: ScimClient, user: SimUser) -> str | None:
        """Look up, then create if absent: the vendors' create flow. Returns the id."""
        existing = self.find_user(client, user)
        if existing is not None:
            return existing
        return self.create_user(client, user).resource_id()

    def create_user(self, client: ScimClient, user: SimUser) -> Answer:
        return client.send("POST", "Users", body=self.user_body(user))

    @abstractmethod
    def user_body(self, user: SimUser) -> dict[str, Any]:
        """The POST /Users body this vendor sends."""

    @abstractmethod
    def update_user(
        self, client: ScimClient, user_id: str, before: SimUser, after: SimUser
    ) -> Answer:
        """A profile change (name, email, userName) the vendor's way."""

    @abstractmethod
    def set_active(self, client: ScimClient, user_id: str, user: SimUser, active: bool) -> Answer:
        """Deactivation (a leaver) or reactivation: neither vendor sends DELETE for it."""

    # Groups ------------------------------------------------------------------------------

    @abstractmethod
    def provision_group(
        self, client: ScimClient, group: SimGroup, member_ids: Sequence[str]
    ) -> str | None:
        """Create the group with these members, the vendor's way. Returns its id."""

    def add_members(self, client: ScimClient, group_id: str, member_ids: Sequence[str]) -> Answer:
        """Members added, `member_batch` a PATCH (`add` on `members`); the last answer."""
        answer = Answer(status=204, body=None)
        for batch in self.batches(member_ids, self.member_batch):
            operation = {
                "op": self.ops["add"],
                "path": "members",
                "value": self.member_values(batch),
            }
            body = {"schemas": [PATCH_OP], "Operations": [operation]}
            answer = client.send("PATCH", f"Groups/{group_id}", body=body)
        return answer

    def remove_members(
        self, client: ScimClient, group_id: str, member_ids: Sequence[str]
    ) -> Answer:
        """Members removed, `member_batch` a PATCH, each by a filtered path
        (`members[value eq "..."]`: both vendors' way); the last answer."""
        answer = Answer(status=204, body=None)
        for batch in self.batches(member_ids, self.member_batch):
            operations = [
                {"op": self.ops["remove"], "path": f"members[value eq {quoted(member)}]"}
                for member in batch
            ]
            body = {"schemas": [PATCH_OP], "Operations": operations}
            answer = client.send("PATCH", f"Groups/{group_id}", body=body)
        return answer

    def find_group(
        self, client: ScimClient, group: SimGroup, params: Mapping[str, str] | None = None
    ) -> str | None:
        """The id of a group with this displayName there, or None: both vendors link an
        existing group by name rather than create a second one."""
        query = {**(params or {}), "filter": f"displayName eq {quoted(group.display_name)}"}
        answer = client.send("GET", "Groups", params=query)
        found = answer.resources()
        if answer.ok and found and isinstance(found[0].get("id"), str):
            return str(found[0]["id"])
        return None

    # Reads -------------------------------------------------------------------------------

    def list_users(self, client: ScimClient, page_size: int = 100) -> list[dict[str, Any]]:
        """Every user, page by page (`startIndex`/`count`), as both vendors read for an
        import: stops at `totalResults`, an empty page, or a refusal."""
        found: list[dict[str, Any]] = []
        start = 1
        for _ in range(MAX_PAGES):
            answer = client.send("GET", "Users", params={"startIndex": start, "count": page_size})
            page = answer.resources()
            found.extend(page)
            total = answer.body.get("totalResults") if isinstance(answer.body, dict) else None
            if not answer.ok or not page or not isinstance(total, int) or len(found) >= total:
                break
            start += len(page)
        return found

    @staticmethod
    def batches(ids: Sequence[str], size: int) -> list[Sequence[str]]:
        return [ids[i : i + size] for i in range(0, len(ids), size)] if ids else []

    @staticmethod
    def member_values(ids: Sequence[str]) -> list[dict[str, str]]:
        return [{"value": member} for member in ids]
