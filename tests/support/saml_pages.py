"""Reading the IdP simulator's pages the way a browser does: its login form's pending key,
and its auto-post form (where the SAMLResponse goes, and with what). One place, so the
in-process world, the real-HTTP browser and the demo test agree on the simulator's markup."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@dataclass(frozen=True)
class PostBack:
    """The simulator's auto-post form: where it posts, and what."""

    acs_url: str
    fields: dict[str, str]

    @property
    def acs_path(self) -> str:
        return urlsplit(self.acs_url).path

    def to(self, base_url: str) -> str:
        """The same ACS path on another origin (a second broker process)."""
        return base_url + self.acs_path


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def pending_key(login_page: str) -> str:
    """The key the simulator's login form carries for the AuthnRequest it received."""
    return hidden_fields(login_page)["pending"]


def autopost(page: str) -> PostBack:
    action = _FORM_ACTION.search(page)
    assert action, page
    fields = hidden_fields(page)
    assert "SAMLResponse" in fields, page
    return PostBack(acs_url=html.unescape(action.group(1)), fields=fields)


def login_form(
    pending: str,
    *,
    email: str,
    scenario: str = "success",
    sign: str = "both",
    groups: str = "engineering,admins",
    attributes: str = "",
) -> dict[str, str]:
    """What a person submits on the simulator's login page."""
    return {
        "pending": pending,
        "email": email,
        "given_name": "Alice",
        "family_name": "Example",
        "groups": groups,
        "attributes": attributes,
        "scenario": scenario,
        "sign": sign,
    }
