"""An organization's SCIM directory, written through the store as the SCIM routes will
write it: a directory, its people (active, deactivated, deleted) and their groups. Tests of
access that follows the directory use it until those routes are merged."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from broker.model.directories import (
    Directory,
    DirectoryGroup,
    DirectoryState,
    DirectoryUser,
    LinkKey,
)
from broker.store import Store


@dataclass
class DirectoryPeople:
    store: Store
    organization_id: str
    now: datetime
    directory_id: str = "dir_people"

    def open(
        self, *, link_key: LinkKey = LinkKey.EMAIL, state: DirectoryState = DirectoryState.ACTIVE
    ) -> Directory:
        directory = Directory(
            id=self.directory_id,
            organization_id=self.organization_id,
            name="Okta",
            link_key=link_key,
            state=state,
            created_at=self.now,
        )
        with self.store.unit_of_work() as uow:
            uow.directories.add(directory)
        return directory

    def set_state(self, state: DirectoryState) -> None:
        with self.store.unit_of_work() as uow:
            uow.directories.set_state(self.directory_id, state)

    def provision(
        self,
        user_id: str,
        *,
        user_name: str,
        email: str | None = None,
        external_id: str | None = None,
        active: bool | None = True,
    ) -> DirectoryUser:
        emails = (email,) if email else ()
        user = DirectoryUser(
            id=user_id,
            directory_id=self.directory_id,
            user_name=user_name,
            external_id=external_id,
            active=active,
            display_name=user_name,
            emails=emails,
            primary_email=email.lower() if email else None,
            resource={"userName": user_name},
            version=1,
            created_at=self.now,
            updated_at=self.now,
        )
        with self.store.unit_of_work() as uow:
            uow.directory_users.add(user)
        return user

    def set_active(self, user_id: str, active: bool) -> None:
        """What Okta's and Entra's `PATCH active=false` (or true) leaves stored."""
        with self.store.unit_of_work() as uow:
            user = uow.directory_users.get(self.directory_id, user_id)
            changed = replace(user, active=active, version=user.version + 1)
            uow.directory_users.save(changed, expected_version=user.version)

    def delete(self, user_id: str) -> None:
        with self.store.unit_of_work() as uow:
            uow.directory_users.delete(self.directory_id, user_id, expected_version=None)

    def group(self, group_id: str, name: str, *members: str) -> None:
        group = DirectoryGroup(
            id=group_id,
            directory_id=self.directory_id,
            display_name=name,
            external_id=None,
            resource={"displayName": name},
            version=1,
            created_at=self.now,
            updated_at=self.now,
        )
        with self.store.unit_of_work() as uow:
            uow.directory_groups.add(group)
            uow.directory_groups.add_members(group_id, list(members))
