"""Why a login was refused: each `reason` is a short, stable string tests assert on."""

from __future__ import annotations


class LoginFailed(Exception):
    """The login cannot be trusted; `reason` is a short stable identifier of the failed check."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason if detail is None else f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class DiscoveryFailed(LoginFailed):
    """The provider's metadata is unreachable or unfit for this RP (OIDC Discovery §3, §4)."""


class AuthorizationError(LoginFailed):
    """The provider answered the authorization request with an error (RFC 6749 §4.1.2.1).

    `error` and `error_description` come from the provider and are untrusted display text.
    """

    def __init__(self, error: str, error_description: str | None) -> None:
        detail = error if not error_description else f"{error}: {error_description}"
        super().__init__("authorization_error", detail)
        self.error = error
        self.error_description = error_description


class IdTokenInvalid(LoginFailed):
    """The ID token failed validation (OIDC Core §3.1.3.7)."""
