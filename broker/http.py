"""The neutral HTTP types: the only currency between the web layer and the core.

The core (OIDC provider, connectors) takes an `HttpRequest` and returns a `Result`; it never
sees Starlette. That keeps protocol logic testable without a server or an event loop, and
confines the framework to `broker.web` (docs/architecture.md, "One pair of neutral HTTP
types").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    """An incoming request as the core sees it.

    `url` is rebuilt from the configured public issuer, never from the Host header: behind a
    proxy the Host header is whatever the proxy says, and URLs we compare (redirect targets,
    SAML Destination) must be the ones we published.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    query: Mapping[str, list[str]] = field(default_factory=dict)
    form: Mapping[str, list[str]] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    #: The raw body, size-capped (JSON for the management API; forms are also in `form`).
    body: bytes = b""
    #: The client's address: the TCP peer, or what our trusted proxies say it was
    #: (`broker.model.client_address`); what rate limits count by.
    client_ip: str | None = None
    #: The correlation id the web layer gave this request (shown on error pages, logged,
    #: and written into audit events so the three can be joined).
    request_id: str | None = None

    @classmethod
    def get(cls, url: str, *, headers: Mapping[str, str] | None = None) -> HttpRequest:
        """A GET request whose query string is parsed from `url` (tests, resumed flows)."""
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        return cls(method="GET", url=url, headers=dict(headers or {}), query=query)

    @classmethod
    def post(
        cls,
        url: str,
        form: Mapping[str, str | list[str]],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> HttpRequest:
        normalized = {k: v if isinstance(v, list) else [v] for k, v in form.items()}
        hdrs = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
        return cls(method="POST", url=url, headers=hdrs, form=normalized)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def params(self) -> Mapping[str, list[str]]:
        """Query for GET, form for POST: where OAuth parameters live for each method."""
        return self.form if self.method == "POST" else self.query


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResponse:
    """A finished response the web layer sends as is (JSON documents, token responses)."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCookie:
    """A cookie the web layer sets on the response. HttpOnly always: no script of ours
    needs a cookie, so none may read one."""

    name: str
    value: str
    max_age: int
    secure: bool
    same_site: str  # "lax" | "strict" | "none"
    path: str = "/"


@dataclass(frozen=True, slots=True)
class Redirect:
    location: str
    status: int = 302
    cookies: tuple[SetCookie, ...] = ()


@dataclass(frozen=True, slots=True)
class AutoPost:
    """A page that POSTs `fields` to `action` on load (SAML HTTP-POST binding, form_post)."""

    action: str
    fields: Mapping[str, str]
    cookies: tuple[SetCookie, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """A page for a person, rendered by the web layer from a template.

    `status` is the HTTP status the page is served with; error pages carry the correlation
    id the web layer adds to every request.
    """

    template: str
    context: Mapping[str, object] = field(default_factory=dict)
    status: int = 200
    cookies: tuple[SetCookie, ...] = ()


Result = HttpResponse | Redirect | AutoPost | Page


def with_query(url: str, params: Mapping[str, str | None]) -> str:
    """Append parameters to a URL that may already have a query (RFC 6749 §3.1.2 requires
    keeping a registered redirect_uri's own query component). None values are left out."""
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query and extra else parts.query or extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def foreign_origin(headers: Mapping[str, str], origin: str) -> str | None:
    """Why a form POST did not come from `origin` (scheme://host[:port], from configuration),
    or None when the browser says it did, or says nothing (older clients send neither
    header; the form's own token still holds for them). `headers` are lower-cased.

    Pages served with `Referrer-Policy: no-referrer` make browsers send `Origin: null` on
    every form POST, our own pages' included (Fetch, "serializing a request origin";
    Chromium does). `null` is then only accepted beside `Sec-Fetch-Site: same-origin`, which
    the browser sets itself and no page can forge; alone, or from anywhere else (a sandboxed
    frame, a data: URL), it is refused like any other foreign origin."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site {fetch_site[:40]}"
    sent_origin = headers.get("origin")
    if sent_origin == "null" and fetch_site == "same-origin":
        return None
    if sent_origin is not None and sent_origin != origin:
        return f"Origin {sent_origin[:200]}"
    return None


def site_origin(base_url: str) -> str:
    """`https://host[:port]` of a configured base URL."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"
