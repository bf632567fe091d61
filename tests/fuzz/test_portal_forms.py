"""Every portal form under hostile input. The POST routes are read from the portal app
itself (as tests/admin_portal/test_every_route.py reads them), and the field names from the
portal's own templates and handlers, so a form added later is fuzzed without a change here.

Forms are sent with the live session's cookie and form token and our Origin, so the fuzzing
gets past the CSRF checks to the handlers; and, one time in four, without one of those, so
the refusals are fuzzed too. Path parameters are the organization's own objects (a live SAML
and OIDC connection, one in setup, its verified domain) or anything at all."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from hypothesis import given, strategies as st
from starlette.routing import Mount, Route

import admin_portal
from broker.upstream.config_fields import STANDARD_CLAIMS
from tests.fuzz import hostile
from tests.fuzz.conftest import Watch, fuzz
from tests.support.config import ISSUER
from tests.support.fuzz_world import DOMAIN, FuzzWorld

PORTAL = Path(admin_portal.__file__).parent
_TEMPLATE_NAME = re.compile(r'name="([A-Za-z_][A-Za-z0-9_]*)"')
_HANDLER_NAME = re.compile(r'form\.get\(f?"([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?"')
_PARAMETER = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


def post_routes(world: FuzzWorld) -> tuple[str, ...]:
    """Path templates of the POST routes the portal app mounted in the broker serves."""
    [portal] = [r for r in world.app.routes if isinstance(r, Mount) and r.path == "/portal"]
    found = {
        route.path
        for route in portal.routes
        if isinstance(route, Route) and "POST" in (route.methods or ())
    }
    return tuple(sorted(found))


@cache
def field_names() -> tuple[str, ...]:
    """Every form field a portal page sends or a handler reads."""
    names: set[str] = set()
    for template in PORTAL.glob("templates/*.html"):
        names.update(_TEMPLATE_NAME.findall(template.read_text()))
    for source in PORTAL.rglob("*.py"):
        for name, templated in _HANDLER_NAME.findall(source.read_text()):
            names.update(f"{name}{claim}" for claim in STANDARD_CLAIMS) if templated else names.add(
                name
            )
    names.update(
        f"{prefix}_{claim}" for prefix in ("names", "required") for claim in STANDARD_CLAIMS
    )
    return tuple(sorted(names - {"viewport", "referrer", "csrf"}))


def test_the_routes_and_fields_are_found(world: FuzzWorld) -> None:
    """If these come back empty, the fuzzing below tests nothing."""
    routes = post_routes(world)
    assert "/connections/{connection_id:str}/certificates" in routes
    assert {"/domains", "/link", "/sign-out", "/setup/begin", "/directories"} <= set(routes)
    assert "/directories/{directory_id:str}/token" in routes
    assert {"version", "certificate_text", "name", "client_secret"} <= set(field_names())
    assert {"vendor", "link_key"} <= set(field_names())


def _files() -> st.SearchStrategy[list[tuple[str, bytes, bytes]]]:
    names = st.sampled_from(("certificate_file", "metadata_file")) | hostile.text()
    return st.lists(
        st.tuples(names, hostile.text().map(hostile.wire), st.binary(max_size=200)), max_size=2
    )


@fuzz(max_examples=200)
@given(
    target=hostile.mostly(
        st.sampled_from(("saml", "oidc", "in_setup", "domain", "directory")),
        hostile.identifier(),
    ),
    fields=st.lists(st.tuples(st.sampled_from(field_names()), hostile.text()), max_size=5),
    files=_files(),
    csrf=hostile.mostly(st.just("valid"), hostile.text()),
    origin=hostile.mostly(st.just(ISSUER.encode()), hostile.header_value),
    with_session=hostile.mostly(st.just(True), st.just(False)),
    multipart=st.booleans(),
    headers=hostile.headers(),
    data=st.data(),
)
def test_portal_form(
    world: FuzzWorld,
    watch: Watch,
    target: str,
    fields: list[hostile.Field],
    files: list[tuple[str, bytes, bytes]],
    csrf: str,
    origin: bytes,
    with_session: bool,
    multipart: bool,
    headers: list[tuple[bytes, bytes]],
    data: st.DataObject,
) -> None:
    watch.clear()
    route = data.draw(st.sampled_from(post_routes(world)), label="route")
    if not world.portal_cookie:
        world.open_portal_session()
    ours = {
        "saml": world.saml.id,
        "oidc": world.oidc.id,
        "in_setup": world.in_setup.id,
        "domain": DOMAIN,
        "directory": world.directory_id,
    }
    value = ours.get(target, target)
    path = b"/portal" + _PARAMETER.sub("{}", route).encode().replace(
        b"{}", hostile.path_segment(value)
    )
    form = [("csrf", world.portal_token if csrf == "valid" else csrf), *fields]
    if multipart or files:
        content_type = b"multipart/form-data; boundary=fuzzboundary"
        body = _multipart(form, files)
    else:
        content_type, body = hostile.FORM, hostile.encode(form)
    sent = [(b"content-type", content_type), (b"origin", origin), *headers]
    if with_session:
        sent.append((b"cookie", world.portal_cookie.encode()))
    answer = world.request("POST", path, headers=sent, body=body)
    if route == "/sign-out" and with_session:
        world.portal_cookie = ""  # perhaps signed out: the next example opens a new session
    watch.check(answer, f"POST {path!r} {form!r} files={[f[0] for f in files]}")


def _multipart(form: list[hostile.Field], files: list[tuple[str, bytes, bytes]]) -> bytes:
    parts = hostile.multipart(form).rsplit(b"--fuzzboundary--", 1)[0]
    for name, filename, content in files:
        parts += (
            b'--fuzzboundary\r\nContent-Disposition: form-data; name="' + hostile.wire(name)
            + b'"; filename="' + filename + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content + b"\r\n"
        )  # fmt: skip
    return parts + b"--fuzzboundary--\r\n"
