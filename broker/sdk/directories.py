"""SCIM directories: create one for an organization (hand its token to the IdP once),
rotate or revoke the token, and read the users and groups the IdP pushed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from broker.sdk.models import Directory, DirectoryGroup, DirectoryUser
from broker.sdk.transport import Transport

_BASE = "/directories"
_PAGE = 200


class Directories:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def create(self, organization_id: str, name: str, *, link_key: str = "email") -> Directory:
        """The answer's `token` (`gh_scim_...`) is shown only here: hand it to the IdP."""
        body = {"organization_id": organization_id, "name": name, "link_key": link_key}
        return Directory.from_json(self._t.request("POST", _BASE, json=body))

    def list(self, *, organization_id: str | None = None) -> Iterator[Directory]:
        params = {} if organization_id is None else {"organization_id": organization_id}
        for item in self._t.pages(_BASE, params):
            yield Directory.from_json(item)

    def get(self, directory_id: str) -> Directory:
        return Directory.from_json(self._t.request("GET", f"{_BASE}/{directory_id}"))

    def delete(self, directory_id: str) -> None:
        self._t.request("DELETE", f"{_BASE}/{directory_id}")

    def rotate_token(self, directory_id: str, *, overlap_seconds: int = 86_400) -> Directory:
        """A new `token` (in this answer only); the previous one keeps working for
        `overlap_seconds`."""
        path = f"{_BASE}/{directory_id}/rotate-token"
        answer = self._t.request("POST", path, json={"overlap_seconds": overlap_seconds})
        return Directory.from_json(answer)

    def revoke_tokens(self, directory_id: str) -> int:
        """Revoke every token now; returns how many were live."""
        answer = self._t.request("POST", f"{_BASE}/{directory_id}/revoke-tokens")
        return int(answer["revoked"])

    def users(self, directory_id: str) -> Iterator[DirectoryUser]:
        """Every user, in creation order, lazily, one page per call."""
        for item in self._resources(f"{_BASE}/{directory_id}/users"):
            yield DirectoryUser.from_json(item)

    def groups(self, directory_id: str) -> Iterator[DirectoryGroup]:
        for item in self._resources(f"{_BASE}/{directory_id}/groups"):
            yield DirectoryGroup.from_json(item)

    def _resources(self, path: str) -> Iterator[Any]:
        start = 1
        while True:
            page = self._t.request("GET", path, params={"start_index": start, "count": _PAGE})
            yield from page["items"]
            start += len(page["items"])
            if not page["items"] or start > page["total"]:
                return
