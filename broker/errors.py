"""The broker's error tree, two-faced on purpose (dex `errors.go`).

- `OAuthError` goes back to the relying party on the channel OAuth defines: a redirect to a
  *validated* redirect_uri, or a JSON error body at the token endpoint.
- `UserFacingError` becomes a page for a person: a title, what to do, and the correlation id.
  The detail is for the log only, never the page.
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of every error the broker raises on purpose."""


class OAuthError(BrokerError):
    """An OAuth 2.0 / OIDC error code with a description safe to show the client."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class UserFacingError(BrokerError):
    """Something a person must be told on a page.

    `title` and `hint` are shown; `detail` goes to the log with the correlation id.
    """

    def __init__(self, title: str, hint: str, *, detail: str = "", status: int = 400) -> None:
        super().__init__(detail or title)
        self.title = title
        self.hint = hint
        self.detail = detail
        self.status = status


class ConfigError(BrokerError):
    """Configuration that cannot work; `field` names where, for forms and the CLI."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
