"""The OIDC connector: an authorization-code login at the customer's IdP, verified in full.

Per flow, `begin_login` makes a fresh `nonce` and PKCE S256 verifier (RFC 9700 §2.1.1: PKCE
even for a confidential client) and hands them back as `connector_state`, which the broker
keeps on the flow; `state` is the flow id, bound to the browser by the broker's cookie and
single use with the flow. `complete_login` then checks, in order:

1. RFC 9207 `iss` on the redirect (mix-up, R-04): equal to the issuer when present, and
   required when the IdP advertises it.
2. An `error` answer becomes a refusal with a fixed code; the IdP's description is logged,
   never shown (R-18).
3. The code is redeemed with our client authentication and the PKCE verifier.
4. The ID token is verified (`id_token.py`), userinfo read when needed with its `sub`
   compared (R-14), and the claims mapped (`profile.py`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from joserfc.jwk import RSAKey

from broker.http import HttpResponse, Redirect, with_query
from broker.model.names import email_domain
from broker.model.opaque import new_secret
from broker.model.reasons import Reason
from broker.model.records import Evidence, UpstreamIdentity
from broker.upstream import outbound
from broker.upstream.base import (
    CallbackInput,
    ConnectorDeps,
    FlowContext,
    LoginStart,
    UpstreamError,
    UpstreamInvalid,
    UpstreamRejected,
    UpstreamUnavailable,
)
from broker.upstream.oidc.config import OidcConnectionConfig, key_context
from broker.upstream.oidc.id_token import IdTokenExpectations, VerifiedIdToken, verify_id_token
from broker.upstream.oidc.profile import build_identity
from broker.upstream.oidc.provider_metadata import (
    MAX_DOCUMENT_BYTES,
    MetadataSource,
    ProviderMetadata,
    check_usable,
    discovery_url,
    manual_metadata,
)
from broker.upstream.oidc.signing_keys import MAX_JWKS_BYTES, SigningKeys
from broker.upstream.oidc.token_endpoint import ClientAuth, fetch_userinfo, redeem_code
from broker.upstream.oidc.vendors import VENDORS
from broker.upstream.urls import ConnectionEndpoints

#: Authorization error codes an IdP may send (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6); any
#: other value is reported as `error`, so nothing the IdP chose reaches a page or a log key.
AUTHORIZATION_ERRORS = frozenset(
    ("invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
     "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
     "login_required", "account_selection_required", "consent_required",
     "invalid_request_uri", "invalid_request_object", "request_not_supported",
     "request_uri_not_supported", "registration_not_supported")
)  # fmt: skip
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class _Document:
    """A document the connector fetches from the IdP: its size cap, and its reasons when the
    outbound guard refuses its URL or the request fails."""

    max_bytes: int
    refused: Reason
    unavailable: Reason


_DISCOVERY = _Document(MAX_DOCUMENT_BYTES, Reason.DISCOVERY_REFUSED, Reason.DISCOVERY_UNAVAILABLE)
_JWKS = _Document(MAX_JWKS_BYTES, Reason.JWKS_REFUSED, Reason.JWKS_UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class _FlowSecrets:
    nonce: str
    verifier: str

    def encode(self) -> bytes:
        return json.dumps({"nonce": self.nonce, "verifier": self.verifier}).encode()

    @classmethod
    def decode(cls, state: bytes) -> _FlowSecrets:
        try:
            data = json.loads(state)
            return cls(nonce=str(data["nonce"]), verifier=str(data["verifier"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise UpstreamInvalid(Reason.NO_REQUEST, detail="this flow sent no request") from exc


class OidcConnector:
    def __init__(
        self,
        *,
        config: OidcConnectionConfig,
        deps: ConnectorDeps,
        endpoints: ConnectionEndpoints,
        auth: ClientAuth,
    ) -> None:
        self._config = config
        self._deps = deps
        self._endpoints = endpoints
        self._auth = auth
        fixed = manual_metadata(config.issuer, config.endpoints) if config.endpoints else None
        self._metadata = MetadataSource(
            None if fixed else lambda: self._fetch(discovery_url(config.issuer), _DISCOVERY),
            issuer=config.issuer,
            clock=deps.clock.now,
            fixed=fixed,
        )
        self._keys = SigningKeys(lambda uri: self._fetch(uri, _JWKS), deps.clock.now)

    @classmethod
    def open(
        cls, config: OidcConnectionConfig, deps: ConnectorDeps, endpoints: ConnectionEndpoints
    ) -> OidcConnector:
        cid = endpoints.connection_id
        key = None
        if config.client_key is not None:
            pem = deps.secrets.decrypt(
                base64.b64decode(config.client_key.private_key_encrypted),
                context=key_context(cid),
            )
            key = RSAKey.import_key(pem, parameters={"kid": config.client_key.public_jwk["kid"]})
        deps = replace(deps, outbound=config.policy(deps.outbound))
        auth = ClientAuth(
            method=config.token_endpoint_auth_method,
            client_id=config.client_id,
            secret=config.client_secret(deps.secrets, cid)
            if config.client_secret_encrypted
            else None,
            key=key,
        )
        return cls(config=config, deps=deps, endpoints=endpoints, auth=auth)

    def describe(self) -> HttpResponse | None:
        """With `private_key_jwt`, the public key the IdP admin registers, as a JWKS."""
        if self._config.client_key is None:
            return None
        body = json.dumps({"keys": [dict(self._config.client_key.public_jwk)]}).encode()
        return HttpResponse(body=body, headers={"content-type": "application/json"})

    def begin_login(self, flow: FlowContext) -> LoginStart:
        """No request to the IdP when its discovery document is fresh; otherwise the fetch
        waits in this connection's slot. While the connection's circuit is open, the person
        is told at once rather than sent to log in at an IdP whose answer cannot be redeemed."""
        bulkheads, key = self._deps.bulkheads, self._endpoints.connection_id
        bulkheads.refuse_while_open(key)
        metadata = self._metadata.fresh()
        if metadata is None:
            with bulkheads.slot(key):
                metadata = self._metadata.get()
        secrets = _FlowSecrets(nonce=new_secret(), verifier=new_secret())
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": self._endpoints.callback_url,
            "scope": " ".join(self._config.scopes),
            "state": flow.flow_id,
            "nonce": secrets.nonce,
            "code_challenge": _s256(secrets.verifier),
            "code_challenge_method": "S256",
            "login_hint": flow.login_hint,
            "prompt": "login" if flow.force_reauthentication else None,
            "max_age": str(flow.max_age) if flow.max_age is not None else None,
        }
        hint_parameter = VENDORS[self._config.vendor].domain_hint_parameter
        hinted_domain = email_domain(flow.login_hint or "")
        if hint_parameter and hinted_domain:
            # The same parser as routing and the post-login check: one address, one domain.
            params[hint_parameter] = hinted_domain
        location = with_query(metadata.authorization_endpoint, params)
        return LoginStart(action=Redirect(location), connector_state=secrets.encode())

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        """Every request to the IdP of this login (discovery, token, JWKS, userinfo) waits
        in this connection's slot (`broker.upstream.bulkhead`): refused at once when the
        connection already has its share of requests in flight or its circuit is open."""
        with self._deps.bulkheads.slot(self._endpoints.connection_id):
            return self._complete(flow, callback)

    def refresh_ahead(self, ahead: timedelta) -> None:
        """Discovery and the JWKS, refetched before a login finds them due (the instance's
        refresh-ahead task), in this connection's slot like any request to its IdP: a
        hanging IdP holds one of its own slots, and its failures count toward its circuit."""
        with self._deps.bulkheads.slot(self._endpoints.connection_id):
            metadata = self._metadata.get(ahead=ahead)
            self._keys.refresh_ahead(metadata.jwks_uri, ahead=ahead)

    def _complete(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        secrets = _FlowSecrets.decode(flow.connector_state)
        answer = callback.query or callback.form
        metadata = self._metadata.get()
        self._check_iss_parameter(answer, metadata)
        if "error" in answer:
            error = answer["error"] if answer["error"] in AUTHORIZATION_ERRORS else "error"
            description = _PRINTABLE.sub("?", answer.get("error_description", ""))[:200]
            # The IdP's own words reach the IT admin's test report (escaped), never a person
            # logging in: Entra's AADSTS codes are how its admins find the cause.
            facts = {"idp_error": error}
            if description:
                facts["idp_error_description"] = description
            raise UpstreamRejected(error, detail=description, facts=facts)
        code = answer.get("code")
        if not code:
            raise UpstreamInvalid(Reason.NO_CODE, detail="neither code nor error in the answer")
        now = self._deps.clock.now()
        tokens = redeem_code(
            self._deps.http,
            self._deps.outbound,
            token_endpoint=metadata.token_endpoint,
            auth=self._auth,
            code=code,
            redirect_uri=self._endpoints.callback_url,
            code_verifier=secrets.verifier,
            now=now,
        )
        verified = verify_id_token(
            tokens.id_token,
            self._keys,
            IdTokenExpectations(
                issuer=self._config.issuer,
                client_id=self._config.client_id,
                nonce=secrets.nonce,
                algorithms=check_usable(metadata, algorithms=self._config.id_token_algorithms),
                jwks_uri=metadata.jwks_uri,
                now=now,
                skew=timedelta(seconds=self._config.clock_skew_seconds),
                max_age=flow.max_age,
                access_token=tokens.access_token,
            ),
        )
        claims = verified.claims
        userinfo = None
        if metadata.userinfo_endpoint and self._wants_userinfo(claims):
            userinfo = fetch_userinfo(
                self._deps.http,
                self._deps.outbound,
                endpoint=metadata.userinfo_endpoint,
                access_token=tokens.access_token,
            )
        shown = _evidence(verified, userinfo)
        try:
            if userinfo is not None and userinfo.get("sub") != claims["sub"]:
                raise UpstreamInvalid(
                    Reason.USERINFO_SUBJECT_MISMATCH,
                    detail="sub differs",
                    facts={
                        "id_token_sub": str(claims["sub"])[:300],
                        "userinfo_sub": str(userinfo.get("sub", "(none)"))[:300],
                    },
                )
            return replace(build_identity(self._config, claims, userinfo), evidence=shown)
        except UpstreamError as exc:
            exc.evidence = shown
            raise

    def _check_iss_parameter(self, answer: Mapping[str, str], metadata: ProviderMetadata) -> None:
        iss = answer.get("iss")
        if iss is None and metadata.iss_parameter_supported:
            raise UpstreamInvalid(
                Reason.MISSING_ISSUER_PARAMETER,
                detail="RFC 9207 iss absent",
                facts={"expected_issuer": self._config.issuer, "actual_issuer": "(none)"},
            )
        if iss is not None and iss != self._config.issuer:
            raise UpstreamInvalid(
                Reason.WRONG_ISSUER_PARAMETER,
                detail=f"iss {iss[:200]!r}",
                facts={"expected_issuer": self._config.issuer, "actual_issuer": iss[:300]},
            )

    def _wants_userinfo(self, claims: Mapping[str, object]) -> bool:
        if self._config.always_fetch_userinfo:
            return True
        names = {**VENDORS[self._config.vendor].claim_names, **self._config.attribute_mapping}
        return any(
            not any(claims.get(name) for name in names[claim])
            for claim in self._config.required_claims
        )

    def _fetch(self, url: str, document: _Document) -> bytes:
        try:
            return outbound.get(
                self._deps.http, url, policy=self._deps.outbound, max_bytes=document.max_bytes
            )
        except outbound.OutboundError as exc:
            facts = {"url": url[:500], "problem": exc.detail[:300]}
            if exc.kind == "refused":
                raise UpstreamInvalid(document.refused, detail=exc.detail, facts=facts) from exc
            raise UpstreamUnavailable(document.unavailable, detail=exc.detail, facts=facts) from exc


def _evidence(verified: VerifiedIdToken, userinfo: Mapping[str, Any] | None) -> Evidence:
    """The verified ID token's header and claims, and userinfo, for a test report; built
    only when called. The token's signature and the access token are never kept."""

    def build() -> dict[str, object]:
        shown: dict[str, object] = {"id_token": verified.shown()}
        if userinfo is not None:
            shown["userinfo"] = dict(userinfo)
        return shown

    return build


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
