"""Per-route rate limits: which buckets a request counts in, and what a refusal looks like.

| route | counted per | answer when over |
| --- | --- | --- |
| `/authorize` | client address | 429 page |
| `POST /login`, `POST /login/choose` (one budget) | client address | 429 page |
| `/saml/{id}/acs`, `/oidc/{id}/callback`, `/callback/{id}` | client address | 429 page |
| `/token` | client address, then the client_id it names | 429 OAuth JSON |

The check runs in the same worker thread as the route's core call, before it: a refused
request reads no flow, no client, no code. `/token` learns afterwards whether the client
authenticated; a failed client authentication (401 `invalid_client`) is charged
`token_failure_weight` requests in total against its *address*, not against the client_id
it named. The address is the one thing the caller cannot choose; charging the claimed
client_id would let anyone who knows Auth0's client_id (it is in every authorize URL) lock
Auth0 out with wrong secrets. A weight on the existing counter, rather than a second,
smaller budget, keeps a successful request at one statement per bucket: a separate failure
budget would have to be read on every request to refuse before the work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from broker.http import HttpRequest, HttpResponse, Page, Result
from broker.limiter import RateLimiter, Refused
from broker.metrics import recording as metrics
from broker.model.client_credentials import CredentialsRefused, parse_client_credentials
from broker.model.rate_limits import Limit, address_key, bounded_key
from broker.settings_rate_limits import RateLimitSettings
from broker.web.adapt import render

log = logging.getLogger(__name__)

Core = Callable[[HttpRequest], Result]
#: Runs a route's core call under its limits (in the worker thread).
Guard = Callable[[Core, HttpRequest], "Result | Refused"]


class RouteLimits:
    def __init__(self, *, limiter: RateLimiter, settings: RateLimitSettings) -> None:
        self._limiter = limiter
        self.authorize = self._per_address(
            Limit(name="authorize", requests=settings.authorize), "authorize"
        )
        self.login = self._per_address(Limit(name="login", requests=settings.login), "login")
        self.callback = self._per_address(
            Limit(name="callback", requests=settings.callback), "callback"
        )
        self._token_address = Limit(name="token-address", requests=settings.token_per_address)
        self._token_client = Limit(name="token-client", requests=settings.token_per_client)
        self._failure_weight = settings.token_failure_weight

    def _per_address(self, limit: Limit, route: metrics.RouteClass) -> Guard:
        def guard(core: Core, request: HttpRequest) -> Result | Refused:
            refused = self._limiter.check(limit.bucket(address_key(request.client_ip)))
            if refused is not None:
                metrics.rate_limited(route)
                return refused
            return core(request)

        return guard

    def token(self, core: Core, request: HttpRequest) -> Result | Refused:
        address = self._token_address.bucket(address_key(request.client_ip))
        buckets = [address]
        client_id = claimed_client_id(request)
        if client_id:
            buckets.append(self._token_client.bucket(bounded_key(client_id)))
        refused = self._limiter.check(*buckets)
        if refused is not None:
            metrics.rate_limited("token")
            return refused
        result = core(request)
        if failed_client_authentication(result):
            self._limiter.charge(address, self._failure_weight - 1)
        return result


def claimed_client_id(request: HttpRequest) -> str | None:
    """The client_id a token request names, read as the token endpoint reads it
    (`broker.model.client_credentials`). Claimed, not proven: authentication comes later;
    credentials that cannot be read name no client."""
    try:
        return parse_client_credentials(request.header("authorization"), request.form).client_id
    except CredentialsRefused:
        return None


def failed_client_authentication(result: Result) -> bool:
    if not isinstance(result, HttpResponse) or result.status != 401:
        return False
    try:
        body = json.loads(result.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "invalid_client"


def too_many_for_a_person(
    request: Request, templates: Jinja2Templates, refused: Refused
) -> Response:
    """A page in words, with the reference every error page shows."""
    _log(refused)
    page = Page(
        template="error.html",
        context={
            "title": "Too many requests",
            "hint": "Too many sign-in requests came from your network. Wait a minute, then "
            "try again.",
        },
        status=429,
    )
    response = render(request, templates, page)
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


def too_many_for_a_machine(refused: Refused) -> Response:
    """RFC 6749 §5.2's error shape. `temporarily_unavailable` is the registered OAuth code
    whose meaning (overloaded, retry later) fits; status 429 and `Retry-After` (RFC 6585
    §4) say how long to wait."""
    _log(refused)
    body = {
        "error": "temporarily_unavailable",
        "error_description": f"too many requests; retry after {refused.retry_after} seconds",
    }
    return Response(
        json.dumps(body),
        status_code=429,
        media_type="application/json",
        headers={
            "Retry-After": str(refused.retry_after),
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
        },
    )


def _log(refused: Refused) -> None:
    # Once per bucket and window, so a flood is one log line a minute, not one a request.
    if refused.first:
        log.warning("rate limit reached: %s; refused until its window ends", refused.bucket)
