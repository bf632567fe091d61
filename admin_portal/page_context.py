"""What every portal page handler shares: the session from the cookie, the CSRF check on
forms, rendering with the organization's branding, and the security headers.

Handlers are thin: they read the request through `Portal`, call the management use cases
scoped to `PortalSession.organization_id` (never an organization id from the request, T-04),
and render. A request without a live session gets the "open your link again" page.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from admin_portal import csrf
from admin_portal.body_cap import MAX_BODY_BYTES, BodyTooLarge, check_declared
from admin_portal.sessions import NoSession, Sessions
from broker import logs
from broker.clock import Clock
from broker.management import Management
from broker.management.errors import ResourceNotFound
from broker.model.client_address import TrustedProxies
from broker.model.connection_labels import connection_label
from broker.model.management import SelfServiceProfile
from broker.model.portal import PortalSession
from broker.model.records import Connection, Organization

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SECURE_COOKIE = "__Host-gatehouse-portal"
DEV_COOKIE = "gatehouse-portal"
MAX_FORM_BYTES = MAX_BODY_BYTES  # an IdP metadata document or a certificate upload

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Visit:
    """One request's session and what the pages show about its organization."""

    session: PortalSession
    organization: Organization
    profile: SelfServiceProfile | None

    def has(self, feature: str) -> bool:
        return feature in self.session.features

    def require(self, feature: str) -> None:
        if not self.has(feature):
            raise FeatureNotGranted(feature)

    @property
    def actor(self) -> str:
        """Who a change is recorded as in the audit log: the portal link (its id), so the
        app team sees which link made it."""
        return f"portal_link:{self.session.link_id}"


class FeatureNotGranted(Exception):
    """The link does not grant this part of the portal (SSO setup, domain verification)."""


class FormUnreadable(Exception):
    """A form that is too large (T-11) or not a form at all (malformed multipart, too many
    files or fields): nothing in it is read."""

    def __init__(self, reason: str, *, too_large: bool) -> None:
        super().__init__(reason)
        self.too_large = too_large


class Portal:
    def __init__(
        self,
        *,
        base_url: str,
        management: Management,
        sessions: Sessions,
        clock: Clock,
        secure: bool,
        proxies: TrustedProxies,
    ) -> None:
        self.base_url = base_url  # the portal's public URL, e.g. https://sso.example.com/portal
        self.proxies = proxies
        self.origin = csrf.site_origin(base_url)
        self.management = management
        self.sessions = sessions
        self.clock = clock
        self.secure = secure
        self.cookie_name = SECURE_COOKIE if secure else DEV_COOKIE
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        # A connection is shown by its IdP ("Okta (SAML)"), never a protocol's generic name.
        environment.filters["label"] = connection_label
        self.templates = Jinja2Templates(env=environment)

    def client_address(self, request: Request) -> str:
        """The peer, or what the broker's trusted proxies say it was (the same rule as the
        broker's routes: `broker.model.client_address`)."""
        peer = request.client.host if request.client else None
        return self.proxies.client_address(peer, request.headers.getlist) or "unknown"

    # -- sessions -------------------------------------------------------------------------

    def visit(self, request: Request, *, touch: bool = True) -> Visit:
        session = self.sessions.current(request.cookies.get(self.cookie_name), touch=touch)
        logs.about(organization_id=session.organization_id)
        organization = self.management.organizations.get(session.organization_id)
        profile = None
        if session.profile_id:
            try:
                profile = self.management.profiles.get(session.profile_id)
            except ResourceNotFound:
                profile = None
        return Visit(session=session, organization=organization, profile=profile)

    def set_session_cookie(self, response: Response, secret: str, max_age: int) -> None:
        # Lax, not Strict: the test login comes back from the IdP as a cross-site
        # navigation, and the result page must still know the session.
        response.set_cookie(
            self.cookie_name,
            secret,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    async def form(self, request: Request, visit: Visit) -> Mapping[str, Any]:
        """The submitted form, after the CSRF checks (T-08), within the size cap (T-11)."""
        try:
            check_declared({k.lower(): v for k, v in request.headers.items()})
            form = await request.form(max_files=2, max_fields=200, max_part_size=MAX_FORM_BYTES)
        except (BodyTooLarge, HTTPException) as exc:
            # Starlette's parser answers its own refusals (BodyTooLarge among them, raised
            # while the body was read) as a 400 HTTPException; the cause says which.
            too_large = isinstance(exc, BodyTooLarge) or isinstance(exc.__context__, BodyTooLarge)
            raise FormUnreadable(str(exc), too_large=too_large) from exc
        token = form.get("csrf")
        csrf.check(
            form_token=token if isinstance(token, str) else None,
            session_token=visit.session.csrf_token,
            headers={k.lower(): v for k, v in request.headers.items()},
            origin=self.origin,
        )
        return form

    # -- answers --------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        visit: Visit | None = None,
        status: int = 200,
        form_targets: Sequence[str] = (),
    ) -> HTMLResponse:
        """`form_targets`: URLs of other sites a form of this page may reach, directly or by
        the redirect that answers it (a test login's hand-off to the IdP): a browser checks
        CSP form-action on that redirect too. Only their origins are added."""
        nonce = secrets.token_urlsafe(16)
        branding = _branding(visit)
        full = {
            "visit": visit,
            "branding": branding,
            "csrf_token": visit.session.csrf_token if visit else "",
            "style_nonce": nonce,
            "base": self.base_url_path,
            "request_id": getattr(request.state, "request_id", ""),
            **context,
        }
        response: HTMLResponse = self.templates.TemplateResponse(
            request, template, full, status_code=status
        )
        form_action = " ".join(
            ["'self'", *dict.fromkeys(filter(None, map(web_origin, form_targets)))]
        )
        # Images: ours, and the profile's logo from its one origin (an https URL the app
        # team set), not any https: host: markup that slipped into a page could otherwise
        # beacon the page's content out through an image URL (T-05, T-10).
        logo = web_origin(branding["logo_url"] or "")
        images = " ".join(["'self'", "data:", *([logo] if logo else [])])
        response.headers["Content-Security-Policy"] = (
            # connect-src: the test step asks its own origin whether the test finished.
            "default-src 'none'; script-src 'self'; connect-src 'self'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src {images}; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def redirect(self, path: str) -> RedirectResponse:
        """303 to a portal path (after a form: the browser GETs it)."""
        return RedirectResponse(self.base_url_path + path, status_code=303)

    @property
    def base_url_path(self) -> str:
        return urlsplit(self.base_url).path.rstrip("/")

    def connection(self, visit: Visit, connection_id: str) -> Connection:
        """The one way a page reads a connection from an id in its URL or form: this
        organization's only (T-04), and for an edit link only the connection it was sent
        for. Anything else is "not found", answered by `with_visit`."""
        visit.require("sso")
        bound = visit.session.connection_id
        if bound is not None and connection_id != bound:
            raise ResourceNotFound(f"connection {connection_id}")
        return self.management.connections.get(visit.organization.id, connection_id)

    async def not_found(self, request: Request) -> HTMLResponse:
        """Any other portal URL: a page in the portal's own look, signed in or not."""
        try:
            visit: Visit | None = self.visit(request)
        except (NoSession, ResourceNotFound):
            visit = None
        return self.error(
            request, visit, status=404, title="Not found",
            message="There is no such page in the setup portal.",
        )  # fmt: skip

    def signed_out(self, request: Request) -> HTMLResponse:
        return self.render(request, "no_session.html", {}, status=401)

    def error(
        self, request: Request, visit: Visit | None, *, status: int, title: str, message: str
    ) -> HTMLResponse:
        """A page a person can act on, with the reference that finds the log line."""
        return self.render(
            request, "error.html", {"title": title, "message": message}, visit=visit,
            status=status,
        )  # fmt: skip

    def with_visit(
        self, handler: Callable[[Request, Visit], Awaitable[Response]], *, touch: bool = True
    ) -> Handler:
        """A page that needs a live session; without one, the "open your link" page.
        `touch=False`: the request does not count as the admin's activity (`Sessions`).

        The refusals every page shares are answered here: a form that fails the CSRF
        checks (T-08), a form too large or unreadable (T-11), and an id that is not this
        organization's (T-04: "not found", exactly as an absent one, whichever it is)."""

        async def page(request: Request) -> Response:
            try:
                return await answer(request)
            finally:
                # A form's files are spooled to temporary files, which Starlette leaves
                # open: closed here, whatever the handler read of them (or refused).
                await request.close()

        async def answer(request: Request) -> Response:
            try:
                visit = self.visit(request, touch=touch)
            except (NoSession, ResourceNotFound):
                return self.signed_out(request)
            try:
                return await handler(request, visit)
            except csrf.CsrfRefused as exc:
                log.warning("portal form refused org=%s: %s", visit.organization.id, exc)
                return self.error(
                    request, visit, status=403, title="This form has expired",
                    message="The form was not sent from this page, or your session changed "
                    "since it was opened. Go back, reload the page, and try again.",
                )  # fmt: skip
            except FormUnreadable as exc:
                log.warning("portal form unreadable org=%s: %s", visit.organization.id, exc)
                if exc.too_large:
                    return self.error(
                        request, visit, status=413, title="This file is too large",
                        message="What you sent is larger than 2 MB. An IdP's metadata file is "
                        "at most 1 MB and a certificate a few kB: go back and choose the "
                        "right file.",
                    )  # fmt: skip
                return self.error(
                    request, visit, status=400, title="This form could not be read",
                    message="Go back, reload the page, and send the form again.",
                )  # fmt: skip
            except FeatureNotGranted as exc:
                log.info("portal feature not granted org=%s: %s", visit.organization.id, exc)
                return self.error(
                    request, visit, status=403, title="Not part of this link",
                    message="The link you opened does not include this step. Ask the person "
                    "who sent it for a link that does.",
                )  # fmt: skip
            except ResourceNotFound as exc:
                log.info("portal not found org=%s: %s", visit.organization.id, exc)
                return self.error(
                    request, visit, status=404, title="Not found",
                    message="There is nothing here for your organization.",
                )  # fmt: skip

        return page


def web_origin(url: str) -> str | None:
    """`https://idp.example.com:8443` of an http(s) URL, as a CSP source; None for anything
    else, so no value from a config can add more than one origin to a policy."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    if not all(ch.isalnum() or ch in ".-:" for ch in host):
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _branding(visit: Visit | None) -> Mapping[str, str | None]:
    profile = visit.profile if visit else None
    branding = profile.branding if profile else None
    return {
        "logo_url": branding.logo_url if branding else None,
        "primary_color": branding.primary_color if branding else None,
        "introduction": profile.introduction if profile else "",
    }
