"""The IdP's endpoints and capabilities: from its discovery document, or given by hand.

The discovery document is fetched from `<issuer>/.well-known/openid-configuration` and its
`issuer` must equal the configured one exactly (OpenID Connect Discovery §4.3, R-05): a
document served at one issuer's URL but naming another is the mix-up attack's set-up. authlib's
`load_server_metadata` neither compares nor ever refreshes; `MetadataSource` does both.

Refresh policy: a document is used for `REFRESH_AFTER`; then the next login refetches it,
unless the instance's refresh-ahead task (`ConnectorCache.refresh_ahead`) already has, a few
minutes before, so that no login waits on the fetch. If a fetch fails, the last good
document keeps serving for up to `MAX_STALE` (an IdP's discovery hiccup must not stop every
login), retried at most every `RETRY_AFTER_FAILURE`, and the failure is logged; after that,
logins fail as unavailable until the IdP answers again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from broker.errors import ConfigError
from broker.model.reasons import Reason
from broker.upstream.base import UpstreamInvalid, UpstreamUnavailable
from broker.upstream.config_fields import check_url
from broker.upstream.oidc.config import SIGNING_ALGORITHMS, ManualEndpoints
from broker.upstream.oidc.idp_json import parse_object

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 256 * 1024
REFRESH_AFTER = timedelta(hours=1)
MAX_STALE = timedelta(hours=24)
RETRY_AFTER_FAILURE = timedelta(minutes=1)
_REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    #: What the IdP says it signs ID tokens with; empty when it does not say.
    id_token_algorithms: tuple[str, ...] = ()
    #: RFC 9207: the IdP adds `iss` to its authorization responses, so a missing one is an
    #: attack (mix-up), not an old IdP.
    iss_parameter_supported: bool = False
    token_auth_methods: tuple[str, ...] = ()
    code_challenge_methods: tuple[str, ...] = ()

    def usable_algorithms(self, allowed: tuple[str, ...]) -> tuple[str, ...]:
        """Our allow-list, narrowed to what the IdP advertises, never widened by it (R-06:
        an IdP listing `none` or `HS256` changes nothing here)."""
        if not self.id_token_algorithms:
            return allowed
        return tuple(a for a in allowed if a in self.id_token_algorithms)


def discovery_url(issuer: str) -> str:
    """Discovery §4: a terminating `/` of the issuer is removed before the well-known path."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_provider_metadata(document: bytes, *, issuer: str) -> ProviderMetadata:
    """The discovery document -> ProviderMetadata; UpstreamInvalid with a reason otherwise."""
    data = parse_object(document, Reason.DISCOVERY_INVALID, "the discovery document")
    if data.get("issuer") != issuer:
        raise UpstreamInvalid(
            Reason.DISCOVERY_ISSUER_MISMATCH,
            detail=f"the document's issuer is {str(data.get('issuer'))[:200]!r}, not {issuer!r}",
            facts={
                "expected_issuer": issuer,
                "actual_issuer": str(data.get("issuer"))[:300],
                "discovery_url": discovery_url(issuer),
            },
        )
    missing = [name for name in _REQUIRED if not isinstance(data.get(name), str)]
    if missing:
        raise UpstreamInvalid(
            Reason.DISCOVERY_INVALID,
            detail=f"missing {', '.join(missing)}",
            facts={"discovery_url": discovery_url(issuer), "missing": ", ".join(missing)},
        )
    try:
        urls = {name: check_url(data[name], name) for name in _REQUIRED}
        userinfo = data.get("userinfo_endpoint")
        userinfo = check_url(userinfo, "userinfo_endpoint") if isinstance(userinfo, str) else None
    except ConfigError as exc:
        raise UpstreamInvalid(Reason.DISCOVERY_INVALID, detail=str(exc)) from exc
    return ProviderMetadata(
        issuer=issuer,
        userinfo_endpoint=userinfo,
        id_token_algorithms=_strings(data, "id_token_signing_alg_values_supported"),
        iss_parameter_supported=data.get("authorization_response_iss_parameter_supported") is True,
        token_auth_methods=_strings(data, "token_endpoint_auth_methods_supported"),
        code_challenge_methods=_strings(data, "code_challenge_methods_supported"),
        **urls,
    )


def manual_metadata(issuer: str, endpoints: ManualEndpoints) -> ProviderMetadata:
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints.authorization_endpoint,
        token_endpoint=endpoints.token_endpoint,
        jwks_uri=endpoints.jwks_uri,
        userinfo_endpoint=endpoints.userinfo_endpoint,
    )


def check_usable(metadata: ProviderMetadata, *, algorithms: tuple[str, ...]) -> tuple[str, ...]:
    """What must hold for a connection to work at all; the usable algorithms."""
    usable = metadata.usable_algorithms(algorithms)
    if not usable:
        raise UpstreamInvalid(
            Reason.NO_COMMON_ALGORITHM,
            detail=f"the IdP signs with {list(metadata.id_token_algorithms)}; Gatehouse "
            f"accepts {list(SIGNING_ALGORITHMS)}",
            facts={
                "actual_algorithm": ", ".join(metadata.id_token_algorithms)[:200],
                "allowed_algorithms": ", ".join(algorithms),
            },
        )
    return usable


class MetadataSource:
    """The current ProviderMetadata of one connection, refetched on the refresh policy.
    One per opened connector; thread-safe (logins run in a thread pool)."""

    def __init__(
        self,
        fetch: Callable[[], bytes] | None,
        *,
        issuer: str,
        clock: Callable[[], datetime],
        fixed: ProviderMetadata | None = None,
    ) -> None:
        self._fetch = fetch
        self._issuer = issuer
        self._clock = clock
        self._lock = threading.Lock()
        self._current = fixed
        self._fetched_at: datetime | None = None
        self._next_fetch: datetime | None = None

    def fresh(self) -> ProviderMetadata | None:
        """The document when no fetch is due, without waiting on one in progress: a
        hand-off that needs no request to the IdP takes no slot in its bulkhead."""
        now = self._clock()
        current, next_fetch = self._current, self._next_fetch
        if self._fetch is None or (current is not None and next_fetch and now < next_fetch):
            return current
        return None

    def get(self, *, ahead: timedelta = timedelta(0)) -> ProviderMetadata:
        """The document, refetched when due; `ahead` makes it due that much sooner (the
        refresh-ahead task: a fetch now rather than on a login's time)."""
        with self._lock:
            if self._fetch is None:
                assert self._current is not None
                return self._current
            now = self._clock()
            due = self._next_fetch is None or now + ahead >= self._next_fetch
            if self._current is not None and not due:
                return self._current
            try:
                self._current = parse_provider_metadata(self._fetch(), issuer=self._issuer)
                self._fetched_at, self._next_fetch = now, now + REFRESH_AFTER
            except (UpstreamUnavailable, UpstreamInvalid) as exc:
                if self._current is None or self._fetched_at is None:
                    raise
                if now - self._fetched_at >= MAX_STALE:
                    raise
                # Serve the last good document, and do not ask again at every login.
                self._next_fetch = now + RETRY_AFTER_FAILURE
                log.warning("discovery refresh failed issuer=%s: %s", self._issuer, exc)
            return self._current


def _strings(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
