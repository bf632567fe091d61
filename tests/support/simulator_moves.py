"""The person at the IdP simulator's pages, the same moves in process (a TestClient at the
simulator) and over real HTTP (a browser's httpx client on loopback): open the login page a
hand-off sent them to, fill its form, and get what the IdP answers (the SAML IdP's auto-post
of a SAMLResponse, the OP's redirect back with a code). Nothing here follows a redirect by
itself: each hop is a step whose target the caller can assert."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.saml_pages import PostBack, autopost, login_form, pending_key


def login_page(http: httpx.Client, url: str) -> httpx.Response:
    """The simulator's login page at `url`, where a hand-off sent the browser."""
    page = http.get(url)
    assert page.status_code == 200, page.text
    return page


def saml_sign_in(
    http: httpx.Client, page: httpx.Response, *, simulator_url: str, **form: str
) -> PostBack:
    """Submit the SAML IdP's login form on `page` (`form`: the email, the scenario, and
    what else the person chooses); its auto-post of the SAMLResponse."""
    posted = http.post(f"{simulator_url}/sso/login", data=typed(page, form))
    assert posted.status_code == 200, posted.text
    return autopost(posted.text)


def oidc_sign_in(
    http: httpx.Client, page: httpx.Response, *, simulator_url: str, **form: str
) -> str:
    """Submit the OP's login form on `page`; where its redirect sends the browser, not
    followed."""
    fields = typed(page, form)
    del fields["sign"]  # a SAML-only field
    posted = http.post(f"{simulator_url}/oidc/login", data=fields, follow_redirects=False)
    assert posted.status_code == 302, posted.text
    return redirect_target(posted, "")


_EMAIL_INPUT = re.compile(r'<input[^>]*\bname="email"[^>]*\bvalue="([^"]*)"')


def prefilled_email(page: httpx.Response) -> str:
    """The address the login form on `page` starts with (what a hint from the SP put there)."""
    found = _EMAIL_INPUT.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def typed(page: httpx.Response, form: dict[str, str]) -> dict[str, str]:
    """What the person submits on the login form on `page`: `form` over the defaults."""
    return {**login_form(pending_key(page.text), email=""), **form}


def saml_replay(http: httpx.Client, simulator_url: str) -> PostBack:
    """The SAML IdP's last auto-post page again: a SAMLResponse arriving a second time."""
    page = http.get(f"{simulator_url}/replay")
    assert page.status_code == 200, page.text
    return autopost(page.text)


def oidc_replay(http: httpx.Client, simulator_url: str) -> str:
    """The OP's last redirect again: a callback arriving a second time."""
    again = http.get(f"{simulator_url}/oidc/replay", follow_redirects=False)
    assert again.status_code == 302, again.text
    return redirect_target(again, "")


def redirect_target(response: httpx.Response, prefix: str) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text)
    location = str(response.headers["location"])
    assert location.startswith(prefix), (location, prefix)
    return location


def query_params(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Browser:
    """One browser (one cookie jar across every host) over real HTTP that follows nothing by
    itself: each hop is a step."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def hop(self, response: httpx.Response, prefix: str) -> httpx.Response:
        """Follow one redirect, asserting where it goes."""
        return self.http.get(redirect_target(response, prefix))

    def to_login_page(self, authorize_url: str, prefix: str) -> httpx.Response:
        """From the RP's authorization URL (at Gatehouse) to the simulator's login page,
        which Gatehouse's hand-off must send the browser to (`prefix`)."""
        return login_page(self.http, redirect_target(self.http.get(authorize_url), prefix))
