"""Starlette Request -> HttpRequest, and a neutral Result -> Starlette Response."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from broker.errors import UserFacingError
from broker.http import AutoPost, HttpRequest, HttpResponse, Page, Redirect, Result
from broker.model.client_address import TrustedProxies
from broker.model.numerals import InvalidNumeral, parse_decimal

# Large enough for any OAuth request and a SAML response with a big group list; small
# enough that a flood of bodies cannot exhaust memory (docs/security.md S-39).
MAX_BODY_BYTES = 512 * 1024


def make_templates(directory: Path) -> Jinja2Templates:
    """Autoescape on for every template, whatever its file name (XSS in error pages)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return Jinja2Templates(env=env)


async def to_http_request(request: Request, *, issuer: str, proxies: TrustedProxies) -> HttpRequest:
    """`url` is the configured issuer plus the path and query: never the Host header;
    `client_ip` is the peer, or what our own proxies say it was (`TrustedProxies`)."""
    # From the scope, as Starlette's `request.url` builds them, without parsing the Host
    # header and the whole URL on every request (issue 18). The query is ASCII here
    # (`ascii_query` in the middleware).
    scope = request.scope
    path = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    query = scope.get("query_string", b"").decode("latin-1")
    path_and_query = path + (f"?{query}" if query else "")
    form: dict[str, list[str]] = {}
    body = b""
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await _read_capped(request)
        if content_type == "application/x-www-form-urlencoded":
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            except UnicodeDecodeError as exc:
                raise UserFacingError(
                    "Unreadable request", "Try again.", detail="body not utf-8"
                ) from exc
    return HttpRequest(
        method=request.method,
        url=issuer + path_and_query,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=parse_qs(query, keep_blank_values=True),
        form=form,
        cookies=dict(request.cookies),
        body=body,
        client_ip=proxies.client_address(
            request.client.host if request.client else None, request.headers.getlist
        ),
        request_id=getattr(request.state, "request_id", None),
    )


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and _declared_length(declared) > MAX_BODY_BYTES:
        raise UserFacingError("Request too large", "Try again.", detail="body over cap", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise UserFacingError(
                "Request too large", "Try again.", detail="body over cap", status=413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _declared_length(declared: str) -> int:
    """RFC 9110 §8.6 `1*DIGIT`: `²` passes `str.isdigit()` and fails `int()`."""
    try:
        return parse_decimal(declared, maximum=2**63 - 1)
    except InvalidNumeral as exc:
        raise UserFacingError(
            "Unreadable request", "Try again.", detail=f"Content-Length: {exc}"
        ) from exc


def to_response(result: Result, request: Request, templates: Jinja2Templates) -> Response:
    if isinstance(result, HttpResponse):
        return Response(result.body, status_code=result.status, headers=dict(result.headers))
    response: Response
    if isinstance(result, Redirect):
        response = RedirectResponse(result.location, status_code=result.status)
    elif isinstance(result, AutoPost):
        page = Page(template="autopost.html", context={"post": result})
        response = render(request, templates, page)
    else:
        response = render(request, templates, result)
    for cookie in result.cookies:
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path=cookie.path,
            secure=cookie.secure,
            httponly=True,
            samesite=cookie.same_site,  # type: ignore[arg-type]
        )
    return response


def render(request: Request, templates: Jinja2Templates, page: Page) -> HTMLResponse:
    context = {
        **page.context,
        "request_id": getattr(request.state, "request_id", ""),
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
    }
    response: HTMLResponse = templates.TemplateResponse(
        request, page.template, context, status_code=page.status
    )
    response.headers["Cache-Control"] = "no-store"
    return response
