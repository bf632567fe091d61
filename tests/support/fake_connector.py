"""A connector kind that tests register themselves (`kind = "test"`).

It implements the real `UpstreamConnector` contract the SAML and OIDC connectors implement:
`begin_login` redirects to a pretend IdP with the flow id as `state` and a per-flow proof it
keeps in `connector_state`; `complete_login` accepts the answer only if both come back. The
test plays the IdP by following the redirect and calling its `return_to` URL itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from broker.errors import ConfigError
from broker.http import Redirect
from broker.model.reasons import Reason
from broker.model.records import UpstreamIdentity
from broker.upstream.base import (
    CallbackInput,
    ConnectorDeps,
    FlowContext,
    LoginStart,
    UpstreamInvalid,
    UpstreamRejected,
)
from broker.upstream.urls import ConnectionEndpoints


@dataclass(frozen=True, slots=True)
class FakeConnectorConfig:
    kind: ClassVar[str] = "test"
    idp_url: str

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> Self:
        idp_url = raw.get("idp_url")
        if not isinstance(idp_url, str) or not idp_url.startswith("https://"):
            raise ConfigError("idp_url", "must be an https URL")
        return cls(idp_url=idp_url)

    def open(self, deps: ConnectorDeps, endpoints: ConnectionEndpoints) -> FakeConnector:
        return FakeConnector(self)

    @classmethod
    def describe_unfinished(cls, raw: Mapping[str, object], endpoints: ConnectionEndpoints) -> None:
        return None


class FakeConnector:
    def __init__(self, config: FakeConnectorConfig) -> None:
        self.config = config

    def describe(self) -> None:
        return None

    def begin_login(self, flow: FlowContext) -> LoginStart:
        proof = secrets.token_urlsafe(16)
        params = {"state": flow.flow_id, "proof": proof, "return_to": flow.callback_url}
        if flow.login_hint:
            params["login_hint"] = flow.login_hint
        if flow.force_reauthentication:
            params["force"] = "1"
        if flow.max_age is not None:
            params["max_age"] = str(flow.max_age)
        query = urlencode(params)
        return LoginStart(
            action=Redirect(f"{self.config.idp_url}/login?{query}"),
            connector_state=proof.encode(),
        )

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        answer = callback.query
        if "error" in answer:
            raise UpstreamRejected(answer["error"])
        if answer.get("state") != flow.flow_id:
            raise UpstreamInvalid(Reason.IN_RESPONSE_TO_MISMATCH)
        if answer.get("proof", "").encode() != flow.connector_state:
            raise UpstreamInvalid(Reason.NONCE_MISMATCH)
        return UpstreamIdentity(
            subject=answer["sub"],
            email=answer.get("email"),
            given_name=answer.get("given_name"),
            family_name=answer.get("family_name"),
            name=answer.get("name"),
            groups=tuple(answer.get("groups", "").split(",")) if answer.get("groups") else (),
            auth_time=(
                datetime.fromtimestamp(int(answer["auth_time"]), UTC)
                if "auth_time" in answer
                else None
            ),
            hosted_domain=answer.get("hd"),
            raw_attributes={"department": answer.get("department", "")},
        )


def idp_answer(idp_redirect: str, **identity: str) -> dict[str, str]:
    """What the pretend IdP sends back: the state and proof from the redirect it received,
    plus the identity the test chose."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(idp_redirect).query).items()}
    return {"state": query["state"], "proof": query["proof"], **identity}


def return_path(idp_redirect: str, answer: dict[str, str]) -> str:
    """The callback path (with the answer as query) the pretend IdP sends the browser to."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(idp_redirect).query).items()}
    path = urlsplit(query["return_to"]).path
    return f"{path}?{urlencode(answer)}"
