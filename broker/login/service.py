"""The login orchestration (see the package docstring for the state machine)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from broker import logs, tracing
from broker.clock import Clock
from broker.errors import UserFacingError
from broker.http import (
    AutoPost,
    HttpRequest,
    HttpResponse,
    Page,
    Redirect,
    Result,
    site_origin,
)
from broker.limiter import RateLimiter
from broker.login.answers import answer_for, connection_or_none, lookup
from broker.login.binding import BrowserBinding
from broker.login.completion import finish_login
from broker.login.directory import StoreDirectory
from broker.login.failures import FailedLogins
from broker.login.pages import chooser_page, email_page, no_route_message
from broker.login.refusals import LoginRefused, refusal_page, upstream_refusal
from broker.login.returns import ClientReturns
from broker.login.trail import LoginTrail
from broker.login.trial_logins import TrialLogins
from broker.model.names import email_domain
from broker.model.opaque import looks_like_id
from broker.model.portal import PortalSession
from broker.model.reasons import Reason
from broker.model.records import Connection, PendingAuthorization
from broker.model.routing import Choose, Route, RoutingDecision, resolve
from broker.oidc.provider import Provider, check_authorize_method
from broker.store import NotFound, Store, UnitOfWork
from broker.upstream.base import CallbackInput, FlowContext, UpstreamError
from broker.upstream.registry import ConnectorCache
from broker.upstream.urls import endpoints_for

log = logging.getLogger(__name__)


class LoginService:
    def __init__(
        self,
        *,
        issuer: str,
        provider: Provider,
        store: Store,
        connectors: ConnectorCache,
        clock: Clock,
        limiter: RateLimiter,
        flow_ttl_seconds: int = 600,
        portal_url: str | None = None,
    ) -> None:
        self._issuer = issuer
        self._provider = provider
        self._store = store
        self._connectors = connectors
        self._clock = clock
        self._failures = FailedLogins(store=store, clock=clock, limiter=limiter)
        self._returns = ClientReturns(provider=provider, store=store, clock=clock)
        self._binding = BrowserBinding(
            secure=issuer.startswith("https://"), max_age_seconds=flow_ttl_seconds
        )
        self._origin = site_origin(issuer)
        self._tests = TrialLogins(
            store=store,
            connectors=connectors,
            clock=clock,
            binding=self._binding,
            portal_url=portal_url or f"{issuer}/portal",
            flow_ttl=timedelta(seconds=flow_ttl_seconds),
        )

    def start_test(
        self,
        session: PortalSession,
        connection: Connection,
        *,
        use_draft: bool,
        cookies: Mapping[str, str],
    ) -> Redirect | AutoPost:
        """A portal test login through `connection` (or its draft): see `trial_logins`."""
        callback_url = endpoints_for(self._issuer, connection.id, connection.kind).callback_url
        return self._tests.start(
            session, connection, use_draft=use_draft, cookies=cookies, callback_url=callback_url
        )

    # -- entry points (one per route) -------------------------------------------------

    def authorize(self, request: HttpRequest) -> Result:
        """The flow is bound to this browser as it is created: every later step (the email
        page, the chooser, the hand-off, the IdP's answer) must come from it. It is stored
        once, as it leaves this request: routed and handed off when a hint routes it, else
        as the email page's flow (issue 18: one insert, not an insert and an update)."""
        check_authorize_method(request)
        binding_hash, cookie = self._binding.bind(request.cookies)
        hinted: RoutingDecision | None = None
        with self._store.unit_of_work() as uow:
            started = self._provider.start(uow, request, browser_binding=binding_hash)
            if isinstance(started, Redirect):
                return started
            authz = started.request
            if authz.connection_hint or authz.organization_hint or authz.login_hint:
                hinted = self._decide(uow, started, email=authz.login_hint)
        bound = HttpRequest(
            method=request.method,
            url=request.url,
            headers=request.headers,
            cookies={**request.cookies, cookie.name: cookie.value},
            client_ip=request.client_ip,
            request_id=request.request_id,
        )
        if hinted is None:
            self._create(started)
            result: Result = self._email_page(started, bound)
        else:
            result = self._routed(
                started, hinted, bound, email=authz.login_hint, from_hint=True, stored=False
            )
        if isinstance(result, HttpResponse):
            return result
        return replace(result, cookies=(*result.cookies, cookie))

    def submit_email(self, request: HttpRequest) -> Result:
        flow = self._form_flow(request)
        email = (_one(request.form, "email") or "").strip()
        return self._route(flow, request, email=email, from_hint=False)

    def choose(self, request: HttpRequest) -> Result:
        flow = self._form_flow(request)
        connection_id = _one(request.form, "connection") or ""
        email = _one(request.form, "email") or flow.request.login_hint
        with self._store.unit_of_work() as uow:
            # Decided again rather than trusted from the form: only a listed option is allowed.
            decision = self._decide(uow, flow, email=email)
            allowed = decision.connections if isinstance(decision, Choose) else ()
            match = next((c for c in allowed if c.id == connection_id), None)
        if match is None:
            return self._email_page(
                flow, request, error="Choose one of the listed sign-in options."
            )
        if email and email != flow.request.login_hint:
            flow = replace(flow, entered_email=email)
        return self._hand_off(flow, match, request)

    def callback(self, connection_id: str, request: HttpRequest) -> Result:
        """The IdP's answer at this connection's ACS URL or redirect URI. OIDC `state` or
        SAML `RelayState` is the flow id; the connection comes from the path, never from the
        message (S-18, S-40)."""
        fields = {k: v[0] for k, v in request.form.items() if v}
        query = {k: v[0] for k, v in request.query.items() if v}
        flow_id = fields.get("RelayState") or query.get("state") or fields.get("state")
        unsolicited = not flow_id and "SAMLResponse" in fields
        connection, taken = answer_for(
            self._store, connection_id, flow_id, request, unsolicited=unsolicited,
            binding=self._binding, now=self._clock.now(),
        )  # fmt: skip
        trail = _trail(connection, flow_id, request)
        flow: PendingAuthorization | None = None
        try:
            if isinstance(taken, LoginRefused):
                raise taken
            flow = taken
            answer = CallbackInput(query=query, form=fields)
            if flow.test is not None:
                return self._tests.complete(
                    flow, connection, answer, self._context(flow, connection)
                )
            connector = self._connectors.get(connection)
            upstream = connector.complete_login(self._context(flow, connection), answer)
            return finish_login(
                self._store, self._provider, flow, connection, upstream, trail,
                now=self._clock.now(),
            )  # fmt: skip
        except UpstreamError as exc:
            self._refused(trail, exc.recorded_reason, exc.detail)
            return self._returns.tell(flow, exc.recorded_reason, upstream_refusal(exc), request)
        except LoginRefused as exc:
            self._refused(trail, exc.reason, exc.detail)
            return self._returns.tell(exc.flow or flow, exc.reason, exc.page, request)
        except UserFacingError:
            raise  # a page chosen on purpose, recorded where it was chosen
        except Exception as exc:
            # A bug, not a refusal: still a 500 with its log line (re-raised), but the
            # attempt is on the audit trail like every other outcome, with the hand-off it
            # spent.
            self._refused(trail, Reason.INTERNAL_ERROR, type(exc).__name__)
            raise

    def metadata(self, connection_id: str) -> Result:
        """A document the connection publishes (SAML SP metadata for the IdP admin)."""
        connection = self._find_connection(connection_id)
        document = self._connectors.describe(connection) if connection else None
        if document is None:
            return HttpResponse(status=404, body=b"no such connection\n")
        return document

    # -- steps ------------------------------------------------------------------------

    def _route(
        self,
        flow: PendingAuthorization,
        request: HttpRequest,
        *,
        email: str | None,
        from_hint: bool,
    ) -> Result:
        with self._store.unit_of_work() as uow:
            decision = self._decide(uow, flow, email=email)
        return self._routed(flow, decision, request, email=email, from_hint=from_hint)

    def _routed(
        self,
        flow: PendingAuthorization,
        decision: RoutingDecision,
        request: HttpRequest,
        *,
        email: str | None,
        from_hint: bool,
        stored: bool = True,
    ) -> Result:
        """The page or hand-off `decision` leads to. A flow not `stored` yet (authorize) is
        stored with it."""
        if not from_hint and email:
            # Kept on the flow (persisted at hand-off) so the IdP is told who is coming.
            flow = replace(flow, entered_email=email)
        if isinstance(decision, Route):
            return self._hand_off(flow, decision.connection, request, stored=stored)
        page: Page
        if isinstance(decision, Choose):
            token = self._binding.form_token_for(request.cookies, flow.id) or ""
            page = chooser_page(flow, token, email=email or "", connections=decision.connections)
        else:
            log.info("no route flow reason=%s", decision.reason)
            if from_hint and decision.reason is Reason.INVALID_EMAIL:
                page = self._email_page(flow, request)
            else:
                message = no_route_message(decision.reason, email_domain(email or "") or "")
                page = self._email_page(flow, request, error=message, email=email or "")
        if not stored:
            self._create(flow)
        return page

    def _create(self, flow: PendingAuthorization) -> None:
        """Store a new flow that was not handed off (it shows a page)."""
        with self._store.unit_of_work() as uow:
            uow.flows.create(flow)

    def _decide(
        self, uow: UnitOfWork, flow: PendingAuthorization, *, email: str | None
    ) -> RoutingDecision:
        return resolve(flow.request, email, StoreDirectory(uow))

    def _hand_off(
        self,
        flow: PendingAuthorization,
        connection: Connection,
        request: HttpRequest,
        *,
        stored: bool = True,
    ) -> Result:
        """To the connection's IdP. A flow not `stored` yet (authorize routed it by a hint)
        is stored here, handed off, in one insert."""
        trail = _trail(connection, flow.id, request)
        try:
            connector = self._connectors.get(connection)
            start = connector.begin_login(self._context(flow, connection))
        except UpstreamError as exc:
            # Discovery unreachable or refused: nothing was sent upstream, and the person
            # learns it is not their fault. The flow is this browser's (it came with the
            # flow's form token, or created it): its client is told.
            self._refused(trail, exc.recorded_reason, exc.detail)
            if not stored:
                self._create(flow)  # stored, so that telling the client consumes it
            return self._returns.tell(flow, exc.recorded_reason, upstream_refusal(exc), request)
        if flow.browser_binding and not self._binding.matches(
            request.cookies, flow.browser_binding
        ):
            # A flow belongs to the browser it was first handed off in; a leaked flow id
            # cannot be re-routed from another one.
            self._refused(trail, Reason.BROWSER_MISMATCH, "hand-off from another browser")
            raise refusal_page(Reason.BROWSER_MISMATCH, detail="hand-off from another browser")
        binding_hash, cookie = self._binding.bind(request.cookies)

        def handed_off(f: PendingAuthorization) -> PendingAuthorization:
            return replace(
                f,
                connection_id=connection.id,
                connector_state=start.connector_state,
                browser_binding=binding_hash,
                entered_email=flow.entered_email,
            )

        with self._store.unit_of_work() as uow:
            if stored:
                uow.flows.update(flow.id, handed_off, now=self._clock.now())
            else:
                uow.flows.create(handed_off(flow))
        log.info("flow handed off connection=%s kind=%s", connection.id, connection.kind)
        return replace(start.action, cookies=(*start.action.cookies, cookie))

    def _find_connection(self, connection_id: str) -> Connection | None:
        if not looks_like_id(connection_id):
            return None  # refused before any lookup: a path segment of anything at all
        with self._store.unit_of_work() as uow:
            return connection_or_none(uow, connection_id)

    def _refused(self, trail: LoginTrail, reason: str, detail: str) -> None:
        self._failures.record(trail, reason, detail)

    # -- helpers ----------------------------------------------------------------------

    def _form_flow(self, request: HttpRequest) -> PendingAuthorization:
        """The flow a login form (email page, chooser) was posted for, if the post came
        from that flow's browser, on this site, with the form's token (login CSRF)."""
        flow_id = _one(request.form, "flow") or ""
        with self._store.unit_of_work() as uow:
            try:
                flow = uow.flows.get(lookup(flow_id), now=self._clock.now())
            except NotFound as exc:
                raise refusal_page(
                    Reason.FLOW_EXPIRED, detail="flow absent, expired or used"
                ) from exc
        problem = self._binding.form_problem(
            request, flow.id, flow.browser_binding, origin=self._origin
        )
        if problem is not None:
            # A flow already handed off names its connection: its organization is told.
            handed_to = self._find_connection(flow.connection_id or "")
            trail = LoginTrail(
                connection_id=flow.connection_id,
                flow_id=flow.id,
                request=request,
                organization_id=handed_to.organization_id if handed_to else None,
                protocol=handed_to.kind if handed_to else None,
            )
            self._refused(trail, Reason.FORM_REFUSED, problem)
            raise refusal_page(Reason.FORM_REFUSED, detail=problem)
        return flow

    def _context(self, flow: PendingAuthorization, connection: Connection) -> FlowContext:
        return FlowContext(
            flow_id=flow.id,
            connection_id=connection.id,
            callback_url=endpoints_for(self._issuer, connection.id, connection.kind).callback_url,
            login_hint=flow.entered_email or flow.request.login_hint,
            force_reauthentication="login" in flow.request.prompt,
            max_age=flow.request.max_age,
            connector_state=flow.connector_state,
        )

    def _email_page(
        self,
        flow: PendingAuthorization,
        request: HttpRequest,
        *,
        error: str | None = None,
        email: str = "",
    ) -> Page:
        token = self._binding.form_token_for(request.cookies, flow.id) or ""
        return email_page(flow, token, error=error, email=email)


def _trail(connection: Connection, flow_id: str | None, request: HttpRequest) -> LoginTrail:
    """The events of a login through `connection`; from here on, the request's log lines
    name its organization and connection too, and so does the step's trace span."""
    logs.about(organization_id=connection.organization_id, connection_id=connection.id)
    tracing.about(organization_id=connection.organization_id, connection_id=connection.id)
    return LoginTrail(
        connection_id=connection.id,
        flow_id=flow_id,
        request=request,
        organization_id=connection.organization_id,
        protocol=connection.kind,
    )


def _one(params: Mapping[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None
