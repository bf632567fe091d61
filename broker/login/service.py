"""The login orchestration (see the package docstring for the state machine)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from broker.clock import Clock
from broker.domain.claims import build_claims, email_domain
from broker.domain.model import Connection, PendingAuthorization, UpstreamIdentity
from broker.domain.opaque import new_id
from broker.domain.routing import (
    Choose,
    NoRoute,
    Route,
    RoutingDecision,
    resolve_for_domain,
    resolve_for_organization,
)
from broker.errors import UserFacingError
from broker.http import HttpRequest, Page, Redirect, Result
from broker.oidc.provider import Provider
from broker.store import NotFound, Store, UnitOfWork
from broker.upstream.base import (
    CallbackInput,
    FlowContext,
    UpstreamInvalid,
    UpstreamRejected,
)
from broker.upstream.registry import ConnectorCache

log = logging.getLogger(__name__)

_NO_ROUTE_MESSAGES = {
    "unknown_domain": "There is no single sign-on set up for {domain}.",
    "unverified_domain": "There is no single sign-on set up for {domain} yet.",
    "no_active_connection": "Your organization's single sign-on is not active yet.",
    "invalid_email": "That does not look like an email address.",
}


def _expired_flow() -> UserFacingError:
    return UserFacingError(
        "This sign-in has expired",
        "Sign-in links last a few minutes and work once. Go back to the application and "
        "start again.",
        detail="flow absent, expired or already used",
    )


class LoginService:
    def __init__(
        self,
        *,
        issuer: str,
        provider: Provider,
        store: Store,
        connectors: ConnectorCache,
        clock: Clock,
    ) -> None:
        self._issuer = issuer
        self._provider = provider
        self._store = store
        self._connectors = connectors
        self._clock = clock

    # -- entry points (one per route) -------------------------------------------------

    def authorize(self, request: HttpRequest) -> Result:
        started = self._provider.begin(request)
        if isinstance(started, Redirect):
            return started
        authz = started.request
        if authz.connection_hint or authz.organization_hint or authz.login_hint:
            return self._route(started, email=authz.login_hint, from_hint=True)
        return self._email_page(started)

    def submit_email(self, request: HttpRequest) -> Result:
        flow = self._live_flow(_one(request.form, "flow"))
        email = (_one(request.form, "email") or "").strip()
        return self._route(flow, email=email, from_hint=False)

    def choose(self, request: HttpRequest) -> Result:
        flow = self._live_flow(_one(request.form, "flow"))
        connection_id = _one(request.form, "connection") or ""
        email = _one(request.form, "email") or flow.request.login_hint
        with self._store.unit_of_work() as uow:
            # Decided again rather than trusted from the form: only a listed option is allowed.
            decision = self._decide(uow, flow, email=email)
            allowed = decision.connections if isinstance(decision, Choose) else ()
            match = next((c for c in allowed if c.id == connection_id), None)
        if match is None:
            return self._email_page(flow, error="Choose one of the listed sign-in options.")
        return self._hand_off(flow, match)

    def callback(self, kind: str, request: HttpRequest) -> Result:
        """The upstream IdP's answer: OIDC `state` or SAML `RelayState` is the flow id."""
        fields = {k: v[0] for k, v in request.form.items() if v}
        query = {k: v[0] for k, v in request.query.items() if v}
        flow_id = fields.get("RelayState") or query.get("state") or fields.get("state")
        flow = self._live_flow(flow_id)
        connection = self._flow_connection(flow, kind)
        connector = self._connectors.get(connection)
        context = self._context(flow, connection)
        try:
            upstream = connector.complete_login(context, CallbackInput(query=query, form=fields))
        except UpstreamRejected as exc:
            log.warning("upstream rejected flow connection=%s reason=%s", connection.id, exc)
            raise UserFacingError(
                "Your identity provider did not sign you in",
                f"It said: {exc.reason}. Try again, or ask your IT team for access.",
                detail=str(exc),
                status=403,
            ) from exc
        except UpstreamInvalid as exc:
            log.warning("upstream answer invalid connection=%s reason=%s", connection.id, exc)
            raise UserFacingError(
                "We could not verify your sign-in",
                "Your identity provider's answer failed a security check. Try again; if it "
                "keeps failing, give your IT team the reference below.",
                detail=str(exc),
                status=400,
            ) from exc
        return self._finish(flow, connection, upstream)

    # -- steps ------------------------------------------------------------------------

    def _route(self, flow: PendingAuthorization, *, email: str | None, from_hint: bool) -> Result:
        with self._store.unit_of_work() as uow:
            decision = self._decide(uow, flow, email=email)
        if isinstance(decision, Route):
            return self._hand_off(flow, decision.connection)
        if isinstance(decision, Choose):
            return Page(
                template="choose_connection.html",
                context={
                    "flow_id": flow.id,
                    "email": email or "",
                    "connections": decision.connections,
                },
            )
        log.info("no route flow reason=%s", decision.reason)
        if from_hint and decision.reason == "invalid_email":
            return self._email_page(flow)
        domain = email_domain(email or "") or ""
        message = _NO_ROUTE_MESSAGES.get(decision.reason, "We cannot sign you in here.")
        return self._email_page(flow, error=message.format(domain=domain), email=email or "")

    def _decide(
        self, uow: UnitOfWork, flow: PendingAuthorization, *, email: str | None
    ) -> RoutingDecision:
        authz = flow.request
        if authz.connection_hint:
            try:
                connection = uow.connections.get(authz.connection_hint)
            except NotFound:
                return NoRoute("unknown_connection")
            return Route(connection) if connection.active else NoRoute("no_active_connection")
        if authz.organization_hint:
            try:
                organization = uow.organizations.get(authz.organization_hint)
            except NotFound:
                return NoRoute("unknown_organization")
            connections = uow.connections.for_organization(organization.id)
            return resolve_for_organization(connections, email_domain(email or ""))
        domain_name = email_domain(email or "")
        if domain_name is None:
            return NoRoute("invalid_email")
        try:
            domain = uow.domains.get(domain_name)
        except NotFound:
            return resolve_for_domain(None, (), domain_name)
        connections = uow.connections.for_organization(domain.organization_id)
        return resolve_for_domain(domain, connections, domain_name)

    def _hand_off(self, flow: PendingAuthorization, connection: Connection) -> Result:
        connector = self._connectors.get(connection)
        start = connector.begin_login(self._context(flow, connection))
        with self._store.unit_of_work() as uow:
            uow.flows.update(
                flow.id,
                lambda f: _with_connection(f, connection.id, start.connector_state),
                now=self._clock.now(),
            )
        log.info("flow handed off connection=%s kind=%s", connection.id, connection.kind)
        return start.action

    def _finish(
        self, flow: PendingAuthorization, connection: Connection, upstream: UpstreamIdentity
    ) -> Redirect:
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            organization = uow.organizations.get(connection.organization_id)
            verified = [
                d.name for d in uow.domains.for_organization(organization.id) if d.is_verified
            ]
            domain = email_domain(upstream.email or "")
            if domain is None or domain not in verified:
                log.warning(
                    "login refused: email domain not verified org=%s connection=%s",
                    organization.id,
                    connection.id,
                )
                raise UserFacingError(
                    "Your email address cannot be used here",
                    "Your identity provider signed you in with an address outside the "
                    "domains your organization has verified. Ask your IT team to check the "
                    "email attribute sent to this application.",
                    detail=f"email domain {domain!r} not verified for {organization.id}",
                    status=403,
                )
            try:
                consumed = uow.flows.consume(flow.id, now=now)
            except NotFound as exc:
                raise _expired_flow() from exc
            identity = uow.identities.record_login(
                organization_id=organization.id,
                connection_id=connection.id,
                idp_subject=upstream.subject,
                email=upstream.email,
                new_id=new_id("usr"),
                now=now,
            )
            claims = build_claims(
                identity=identity,
                upstream=upstream,
                organization=organization,
                connection=connection,
                verified_domains=verified,
                scope=consumed.request.scope,
            )
            # The IdP's own authentication instant when it tells us (it may have had a session),
            # never later than now.
            auth_time = min(upstream.auth_time or now, now)
            redirect = self._provider.finish(uow, consumed, claims, auth_time=auth_time)
        log.info("login complete connection=%s sub=%s", connection.id, identity.id)
        return redirect

    # -- helpers ----------------------------------------------------------------------

    def _live_flow(self, flow_id: str | None) -> PendingAuthorization:
        if not flow_id:
            raise _expired_flow()
        with self._store.unit_of_work() as uow:
            try:
                return uow.flows.get(flow_id, now=self._clock.now())
            except NotFound as exc:
                raise _expired_flow() from exc

    def _flow_connection(self, flow: PendingAuthorization, kind: str) -> Connection:
        if flow.connection_id is None:
            raise _expired_flow()
        with self._store.unit_of_work() as uow:
            connection = uow.connections.get(flow.connection_id)
        if connection.kind != kind:
            raise UserFacingError(
                "This sign-in answer arrived at the wrong place",
                "Go back to the application and start again.",
                detail=f"callback kind {kind!r} for a {connection.kind!r} connection",
            )
        return connection

    def _context(self, flow: PendingAuthorization, connection: Connection) -> FlowContext:
        return FlowContext(
            flow_id=flow.id,
            connection_id=connection.id,
            callback_url=f"{self._issuer}/callback/{connection.kind}",
            login_hint=flow.request.login_hint,
            force_reauthentication="login" in flow.request.prompt,
            max_age=flow.request.max_age,
            connector_state=flow.connector_state,
        )

    def _email_page(
        self, flow: PendingAuthorization, *, error: str | None = None, email: str = ""
    ) -> Page:
        return Page(
            template="login_email.html",
            context={"flow_id": flow.id, "error": error, "email": email},
            status=200 if error is None else 400,
        )


def _with_connection(
    flow: PendingAuthorization, connection_id: str, connector_state: bytes
) -> PendingAuthorization:
    return replace(flow, connection_id=connection_id, connector_state=connector_state)


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None
