"""Access follows the directory: who an organization's SCIM directory lets sign in.

When an organization has an ACTIVE directory, the identity its IdP vouches for is looked up
there by the directory's link key (`LinkKey`: the login's email, or its subject as the
SCIM externalId or userName), and:

1. a person the directory lists as inactive (`active: false`, what Okta and Entra send when
   someone leaves or is unassigned) is refused: `directory_user_inactive`;
2. a person the directory does not list (deleted there, or never provisioned) is refused
   once the directory lists anyone: `directory_user_unknown`. A directory nobody has been
   provisioned to yet enforces nothing, so an organization that turns provisioning on is
   not locked out before its IdP's first push. (So a directory emptied of every user counts
   as not yet synced again; an IT team that wants nobody in turns the connection off.)
3. a person listed as active signs in, and the app hears their directory groups
   (`directory_groups`, at most `MAX_GROUPS` of them, by name; beyond that the first
   `MAX_GROUPS` and `directory_groups_truncated: true`).

A DISABLED directory enforces nothing: its users link no one and claim nothing.

The same verdict holds after sign-in: `/userinfo` refuses an access token issued for a
directory user who is now inactive or gone (`still_admitted`). This module decides only;
`broker.login.directory_access` reads the store and the login service applies the verdict
before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broker.model.directories import DirectoryState, DirectoryUser, LinkKey
from broker.model.login_policy import PolicyRefusal
from broker.model.reasons import Reason
from broker.model.records import UpstreamIdentity

#: The most group names the `directory_groups` claim lists: an ID token travels in a URL
#: fragment or a cookie at some relying parties, and Entra ID caps its own groups claim at
#: 200 for the same reason.
MAX_GROUPS = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    """A directory user as `/userinfo` sees it: active or not, and whether its directory
    still governs sign-in."""

    active: bool
    directory_state: DirectoryState


def link_value(key: LinkKey, upstream: UpstreamIdentity) -> str | None:
    """What of the login a link key compares (`LinkKey`'s docstring): the email for EMAIL,
    the IdP's subject (SAML NameID, OIDC `sub`) for EXTERNAL_ID and SUBJECT."""
    if key is LinkKey.EMAIL:
        return upstream.email or None
    return upstream.subject or None


def judge(
    matches: Sequence[DirectoryUser], *, populated: bool, directory: str
) -> DirectoryUser | PolicyRefusal | None:
    """The verdict on a login of an organization with an active directory.

    `matches` are the directory users the login links to (one per link key in use);
    `populated` says whether the organization's active directories list anyone at all.
    Returns the directory user the person is (admitted), a refusal, or None: admitted
    with no directory user, because nobody has been provisioned yet."""
    inactive = next((user for user in matches if not user.is_active), None)
    if inactive is not None:
        return PolicyRefusal(
            Reason.DIRECTORY_USER_INACTIVE, f"directory user {inactive.id} is inactive"
        )
    if matches:
        return matches[0]
    if populated:
        return PolicyRefusal(Reason.DIRECTORY_USER_UNKNOWN, f"not in directory {directory}")
    return None


def still_admitted(standing: Standing | None) -> bool:
    """Whether an access token issued for a directory user may still be used: the user is
    active, or its directory no longer governs sign-in. Gone (deleted, or its directory
    deleted) is refused, as a deleted person is at sign-in."""
    if standing is None:
        return False
    return standing.active or standing.directory_state is not DirectoryState.ACTIVE


def group_claims(names: Sequence[str]) -> dict[str, object]:
    """The `directory_groups` claim from the names of the user's groups, fetched up to
    MAX_GROUPS + 1 so that one more than the bound says the list was cut."""
    claims: dict[str, object] = {"directory_groups": list(names[:MAX_GROUPS])}
    if len(names) > MAX_GROUPS:
        claims["directory_groups_truncated"] = True
    return claims
