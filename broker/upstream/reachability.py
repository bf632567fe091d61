"""Can Gatehouse reach a connection's IdP now? What `gatehouse doctor` asks of each active
connection, before a person's login finds out.

The request is the one a login makes first, through the same guarded client, policy and
deadline (`broker.upstream.outbound`, the connection's own CAs and deadline): an OIDC
connection's discovery document, checked to be its issuer's (or, with endpoints given by
hand, its JWKS). A SAML connection keeps no URL Gatehouse fetches (its metadata was read
once, when it was saved; its SSO URL is the browser's to open), so there is nothing to ask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from broker.errors import ConfigError
from broker.upstream import outbound
from broker.upstream.errors import UpstreamError
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.provider_metadata import (
    MAX_DOCUMENT_BYTES,
    discovery_url,
    parse_provider_metadata,
)
from broker.upstream.oidc.signing_keys import MAX_JWKS_BYTES
from broker.upstream.outbound import OutboundPolicy


@dataclass(frozen=True, slots=True)
class Reachability:
    #: What was fetched; None when the connection's protocol fetches nothing.
    url: str | None
    #: Why it failed, in words for the operator; None when it answered as it should.
    problem: str | None = None


def reach(
    kind: str, config: Mapping[str, object], http: httpx.Client, policy: OutboundPolicy
) -> Reachability:
    """Fetch what a login of this connection fetches first. Never raises for the IdP's
    sake: a refusal, a timeout or a wrong answer is the `problem`."""
    if kind != OidcConnectionConfig.kind:
        return Reachability(None)
    try:
        parsed = OidcConnectionConfig.parse(config)
    except ConfigError as exc:
        return Reachability(None, f"its settings no longer pass Gatehouse's checks ({exc})")
    own = parsed.policy(policy)
    if parsed.endpoints is not None:
        url = parsed.endpoints.jwks_uri
        return _fetched(url, lambda: outbound.get(http, url, policy=own, max_bytes=MAX_JWKS_BYTES))
    url = discovery_url(parsed.issuer)

    def discovery() -> None:
        document = outbound.get(http, url, policy=own, max_bytes=MAX_DOCUMENT_BYTES)
        parse_provider_metadata(document, issuer=parsed.issuer)

    return _fetched(url, discovery)


def _fetched(url: str, fetch: Callable[[], object]) -> Reachability:
    try:
        fetch()
    except outbound.OutboundError as exc:
        return Reachability(url, exc.detail)
    except UpstreamError as exc:
        return Reachability(url, exc.detail or exc.recorded_reason)
    return Reachability(url)
