"""The Auth0 post-login Action that copies Gatehouse's organization claims into the app's
tokens. Mapped attributes only reach the Auth0 user profile; an ID or access token carries
a custom claim only when an Action sets it (Auth0: "Create custom claims")."""

from __future__ import annotations

import json
from importlib.resources import files

_TEMPLATE = files("broker.auth0").joinpath("templates", "post_login_action.js")


def default_namespace(issuer: str) -> str:
    """A namespace the deployment owns: its issuer, ending in `/` (Auth0 recommends a URL
    the tenant controls, and refuses some plain names in tokens)."""
    return issuer.rstrip("/") + "/"


def post_login_action(*, connection_name: str, namespace: str) -> str:
    """The Action's source. Both values are written as JavaScript string literals' content
    (JSON escaping, without the quotes), so a name cannot break out of its string."""
    text = _TEMPLATE.read_text(encoding="utf-8")
    return text.replace("__CONNECTION__", _js_string(connection_name)).replace(
        "__NAMESPACE__", _js_string(namespace)
    )


def _js_string(value: str) -> str:
    return json.dumps(value)[1:-1].replace("<", "\\u003c").replace("*/", "*\\/")
