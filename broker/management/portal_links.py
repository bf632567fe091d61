"""Portal links: the magic link an app team sends a customer's IT admin (docs/security.md,
"Admin portal").

A link is a bearer credential to one organization's SSO setup (a forged certificate upload
is a tenant takeover, T-08), so:

- its token is 256 random bits (T-01), shown once in the create answer and stored only as
  SHA-256: a database dump, a list call or an audit event yields no usable link;
- it lives at most 24 hours (T-02): a link waits in a mailbox, and a new one is one API call
  away. What the admin did with it (a draft connection, claimed domains) is kept on the
  organization, not on the link, so a fresh link resumes where the last one stopped;
- it opens a bounded number of portal sessions (`max_uses`, default 5, at most 20): one is
  too few for a session of a few hours the admin comes back to after DNS propagates, or
  opens again on another device, or that a mail scanner's pre-fetch burnt (T-03); a small
  bound still limits a forwarded link, and `uses` in the list shows it;
- it grants only the features named (T-04), for one organization, and can be revoked at
  once (T-06).

`redeem` is the one way to use a link (the portal calls it): an atomic count of one use, and
"not found" alike for an unknown, expired, revoked or used-up token; a refused token that is
a link's is a `portal_link.refused` event for its organization (T-03: reject and alert).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from broker.keys.crypto import KeyDecryptionError
from broker.management import scoped
from broker.management.deps import ManagementDeps, record
from broker.management.errors import (
    FieldError,
    InvalidInput,
    ResourceConflict,
    ResourceNotFound,
)
from broker.model.management import PORTAL_FEATURES, PortalLink
from broker.model.opaque import hash_secret, new_id, new_secret
from broker.model.portal import PortalSession
from broker.store import AlreadyExists, NotFound, UnitOfWork
from broker.store.protocols import PageKey

log = logging.getLogger(__name__)

DEFAULT_TTL_SEC = 86_400
MIN_TTL_SEC = 300
MAX_TTL_SEC = 86_400
DEFAULT_MAX_USES = 5
MAX_MAX_USES = 20
#: The whole setup assistant: activating a connection needs a verified domain (issue 6).
#: Not `directory_sync`: a link that can issue a SCIM token is asked for by name, so links
#: made before it existed, and made without naming features, grant no more than they did.
DEFAULT_FEATURES = ("sso", "domain_verification")
#: Longer than any token `new_secret` makes; a longer one is not looked up at all.
_MAX_TOKEN = 128


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link: PortalLink
    #: `{portal_url}/link/{token}`: in this value only, never stored in clear.
    url: str


def status(link: PortalLink, now: datetime) -> str:
    """revoked, used_up, expired or active: the first that applies (a link used up before
    it expired says what happened to it)."""
    if link.revoked_at is not None:
        return "revoked"
    if link.uses >= link.max_uses:
        return "used_up"
    if now >= link.expires_at:
        return "expired"
    return "active"


class PortalLinks:
    def __init__(self, deps: ManagementDeps) -> None:
        self._deps = deps

    def create(
        self,
        actor: str,
        organization_id: str,
        *,
        profile_id: str | None = None,
        connection_id: str | None = None,
        ttl_sec: int = DEFAULT_TTL_SEC,
        max_uses: int = DEFAULT_MAX_USES,
        enabled_features: Sequence[str] = DEFAULT_FEATURES,
    ) -> IssuedLink:
        """A new-connection link, or an edit link for `connection_id`, which must be the
        organization's (another's is "not found", as an absent one)."""
        features = _checked(enabled_features, connection_id, ttl_sec, max_uses)
        token = new_secret()
        now = self._deps.clock.now()
        link = PortalLink(
            id=new_id("pl"),
            organization_id=organization_id,
            token_hash=hash_secret(token),
            profile_id=profile_id,
            connection_id=connection_id,
            enabled_features=features,
            max_uses=max_uses,
            expires_at=now + timedelta(seconds=ttl_sec),
            created_at=now,
            created_by=actor,
        )
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            if connection_id is not None:
                scoped.connection(uow, organization_id, connection_id)
            if profile_id is not None:
                _profile(uow, profile_id)
            try:
                uow.portal_links.add(link)
            except (NotFound, AlreadyExists) as exc:  # a referenced row deleted meanwhile
                raise ResourceConflict("the organization, connection or profile changed; "
                                       "try again") from exc  # fmt: skip
            record(uow, self._deps, "portal_link.created", actor=actor,
                   organization_id=organization_id, connection_id=connection_id,
                   link_id=link.id, profile_id=profile_id, features=list(features),
                   max_uses=max_uses, expires_at=link.expires_at.isoformat())  # fmt: skip
        return IssuedLink(link=link, url=f"{self._deps.portal_url}/link/{token}")

    def page(self, organization_id: str, *, after: PageKey | None, limit: int) -> list[PortalLink]:
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            return list(uow.portal_links.page(organization_id, after=after, limit=limit))

    def revoke(self, actor: str, organization_id: str, link_id: str) -> PortalLink:
        """Idempotent: revoking a revoked link keeps the first time and records nothing.
        Another organization's link is "not found", as an absent one."""
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            try:
                current = uow.portal_links.get(organization_id, link_id)
                if current.revoked_at is not None:
                    return current
                revoked = uow.portal_links.revoke(
                    organization_id, link_id, now=self._deps.clock.now()
                )
            except NotFound as exc:
                raise ResourceNotFound(f"portal link {link_id}") from exc
            record(uow, self._deps, "portal_link.revoked", actor=actor,
                   organization_id=organization_id, connection_id=revoked.connection_id,
                   link_id=link_id)  # fmt: skip
        return revoked

    def redeem(
        self,
        token: str,
        *,
        client: str | None = None,
        open_session: Callable[[PortalLink], PortalSession] | None = None,
    ) -> PortalLink:
        """Count one use of a live link and return it. `open_session` makes the portal
        session the link opens (bound to its organization and features), stored in the same
        transaction as the use and its event: a use is spent only with a session to show
        for it. ResourceNotFound for an unknown, expired, revoked or used-up token alike:
        the portal must not tell a guess from a spent link. Of concurrent redemptions of a
        link's last use, exactly one wins (the store's conditional update).

        A refused token that is a link's (spent, expired or revoked) is a
        `portal_link.refused` event for its organization, with the reason and `client` (the
        address the portal saw): a second redemption is someone else holding the link, a
        forwarded mail or a browser history, and the app team should hear of it (T-03). An
        unknown token belongs to no organization: it is only logged."""
        if not token or len(token) > _MAX_TOKEN:
            log.info("portal link refused: not a token")
            raise ResourceNotFound("portal link")
        now = self._deps.clock.now()
        token_hash = hash_secret(token)
        with self._deps.store.unit_of_work() as uow:
            try:
                link = uow.portal_links.use(token_hash, now=now)
            except NotFound:
                # Only to say why: the refusal stands whatever this finds (the link's state
                # cannot become usable again, so it reads as "not usable" here too).
                self._refused(uow, token_hash, now, client)
            else:
                record(uow, self._deps, "portal_link.redeemed", actor=f"portal_link:{link.id}",
                       organization_id=link.organization_id, connection_id=link.connection_id,
                       link_id=link.id, use=link.uses, max_uses=link.max_uses)  # fmt: skip
                if open_session is not None:
                    uow.portal_sessions.add(open_session(link))
                return link
        raise ResourceNotFound("portal link")

    def _refused(self, uow: UnitOfWork, token_hash: str, now: datetime, client: str | None) -> None:
        try:
            link = uow.portal_links.find(token_hash)
        except NotFound:
            log.info("portal link refused: no link has this token client=%s", client)
            return
        reason = status(link, now)
        log.warning("portal link %s refused: %s client=%s", link.id, reason, client)
        record(uow, self._deps, "portal_link.refused", actor="portal",
               organization_id=link.organization_id, connection_id=link.connection_id,
               reason=reason, link_id=link.id, uses=link.uses, max_uses=link.max_uses,
               client=client)  # fmt: skip

    def seal_url(self, link_id: str, url: str) -> str:
        """The URL encrypted under the master key, for the one place it must be kept: the
        answer a retried create (same Idempotency-Key) replays. Bound to the link's id."""
        blob = self._deps.secrets.encrypt(url.encode(), context=_seal_context(link_id))
        return base64.urlsafe_b64encode(blob).decode()

    def unseal_url(self, link_id: str, sealed: str) -> str:
        try:
            blob = base64.urlsafe_b64decode(sealed.encode())
            return self._deps.secrets.decrypt(blob, context=_seal_context(link_id)).decode()
        except (KeyDecryptionError, ValueError) as exc:
            raise ResourceConflict("the link created with this Idempotency-Key cannot be shown "
                                   "again; revoke it and create another") from exc  # fmt: skip


def _seal_context(link_id: str) -> str:
    return f"portal_link_url:{link_id}"


def _profile(uow: UnitOfWork, profile_id: str) -> None:
    try:
        uow.profiles.get(profile_id)
    except NotFound as exc:
        raise ResourceNotFound(f"self-service profile {profile_id}") from exc


def _checked(
    features: Sequence[str], connection_id: str | None, ttl_sec: int, max_uses: int
) -> tuple[str, ...]:
    errors: list[FieldError] = []
    if not MIN_TTL_SEC <= ttl_sec <= MAX_TTL_SEC:
        errors.append(FieldError("/ttl_sec", f"{MIN_TTL_SEC} to {MAX_TTL_SEC} seconds (24 h)"))
    if not 1 <= max_uses <= MAX_MAX_USES:
        errors.append(FieldError("/max_uses", f"1 to {MAX_MAX_USES}"))
    if not features:
        errors.append(FieldError("/enabled_features", "at least one"))
    for index, feature in enumerate(features):
        if feature not in PORTAL_FEATURES:
            errors.append(FieldError(f"/enabled_features/{index}",
                                     f"one of {', '.join(PORTAL_FEATURES)}"))  # fmt: skip
    if connection_id is not None and "sso" not in features:
        # An edit link exists to maintain that connection; without `sso` it could not.
        errors.append(FieldError("/connection_id", "an edit link must enable sso"))
    if errors:
        raise InvalidInput(errors)
    return tuple(dict.fromkeys(features))
