"""The broker's errors that cross packages.

- `UserFacingError` becomes a page for a person: a title, what to do, and the correlation id.
  The detail is for the log only, never the page.
- `ConfigError` names the field of a configuration that cannot work.

Errors toward a relying party take the channel OAuth defines, built where they arise: an
error redirect to a *validated* redirect_uri (`broker.oidc.authorize`), or a JSON body at
the token endpoint (`broker.oidc.provider`).
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of every error the broker raises on purpose."""


class UserFacingError(BrokerError):
    """Something a person must be told on a page.

    `title` and `hint` are shown; `detail` goes to the log with the correlation id.
    `return_to`, when set, is where the page's button takes the person: back to the
    application, with what it must be told (`broker.login.returns`).
    """

    def __init__(
        self,
        title: str,
        hint: str,
        *,
        detail: str = "",
        status: int = 400,
        return_to: str | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.title = title
        self.hint = hint
        self.detail = detail
        self.status = status
        self.return_to = return_to

    def returning_to(self, url: str) -> UserFacingError:
        """This page with a button to `url`."""
        return UserFacingError(
            self.title, self.hint, detail=self.detail, status=self.status, return_to=url
        )


class ConfigError(BrokerError):
    """Configuration that cannot work; `field` names where, for forms and the CLI."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
