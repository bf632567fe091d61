"""`/token`: one endpoint, two grants, two registries of clients.

An authorization code is redeemed by a relying party (Auth0) with the OpenID provider
(`broker.oidc.provider`); client credentials are exchanged by a management client for an API
token (`broker.management.access`). The two never share a client, a secret or a token: the
grant type alone decides which of them answers, and the other never sees the request. The
web layer only calls this; the decision is tested without HTTP.
"""

from __future__ import annotations

from typing import Protocol

from broker.http import HttpRequest, HttpResponse

CLIENT_CREDENTIALS = "client_credentials"


class Grant(Protocol):
    def __call__(self, request: HttpRequest) -> HttpResponse: ...


class TokenEndpoint:
    def __init__(self, *, authorization_code: Grant, client_credentials: Grant) -> None:
        self._authorization_code = authorization_code
        self._client_credentials = client_credentials

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """A single `grant_type=client_credentials` goes to the management API's tokens;
        everything else (a code, a repeated or missing grant type) to the provider, which
        answers OAuth's errors for it."""
        if request.form.get("grant_type") == [CLIENT_CREDENTIALS]:
            return self._client_credentials(request)
        return self._authorization_code(request)
