"""Every portal route, read from the portal app itself, so that a route added later cannot
be missed by the tenancy and header checks (docs/security.md T-04, T-09).

`REQUESTS` classifies each route: either it names another organization's object (its
connection, test result or domain), which a session of organization A must find "not found"
without a row changing, or it names none (the link exchange, the home page, the choice of a
new IdP), which the module that owns it tests. The first test fails when a route is added
without being classified here. Every answer, a 404 included, carries the headers that keep
the portal out of frames and its URLs out of Referer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from broker.model.records import Connection
from broker.model.vendors import STRATEGIES
from broker.store import Store
from tests.support.certificates import certificate_pem, fingerprint
from tests.support.config import ISSUER
from tests.support.gatehouse import ACTOR
from tests.support.maintain_world import MaintainWorld, build_maintain_world, op_key
from tests.support.portal_forms import csrf_token

__all__ = ["op_key"]  # fixtures

ALL_FEATURES = ["sso", "domain_verification", "directory_sync"]


@dataclass(frozen=True)
class Theirs:
    """Organization B's objects, each in the state where a request that got through would
    change something: a live connection with a tested draft, one in setup, a claimed domain,
    a test result."""

    saml: Connection
    oidc: Connection
    in_setup: Connection
    test_id: str
    domain: str
    directory_id: str


#: A request for B's object: (path, form), given B's objects.
Aimed = Callable[[Theirs], tuple[str, dict[str, str]]]


def _setup(step: str, form: dict[str, str] | None = None) -> Aimed:
    return lambda b: (f"/portal/setup/{b.in_setup.id}/{step}", form or {})


def _live(step: str, form: dict[str, str] | None = None, *, oidc: bool = False) -> Aimed:
    def aimed(b: Theirs) -> tuple[str, dict[str, str]]:
        connection = b.oidc if oidc else b.saml
        return f"/portal/connections/{connection.id}{step}", form or {}

    return aimed


def _remove_first(b: Theirs) -> tuple[str, dict[str, str]]:
    first = b.saml.config["idp_certificates"][0]
    return (
        f"/portal/connections/{b.saml.id}/certificates",
        {"action": "remove", "fingerprint": fingerprint(first)},
    )


AIMED: dict[tuple[str, str], Aimed] = {
    ("GET", "/setup/{connection_id}/guide"): _setup("guide"),
    ("GET", "/setup/{connection_id}/settings"): _setup("settings"),
    ("POST", "/setup/{connection_id}/settings"): _setup(
        "settings",
        {"source": "manual", "idp_entity_id": "urn:stolen", "sso_url": "https://x.test/s"},
    ),
    ("GET", "/setup/{connection_id}/attributes"): _setup("attributes"),
    ("POST", "/setup/{connection_id}/attributes"): _setup("attributes", {"names_email": "x"}),
    ("GET", "/setup/{connection_id}/test"): _setup("test"),
    ("GET", "/setup/{connection_id}/activate"): _setup("activate"),
    ("POST", "/setup/{connection_id}/activate"): _setup("activate", {"version": "1"}),
    ("GET", "/setup/{connection_id}/done"): _setup("done"),
    ("GET", "/domains"): lambda b: (f"/portal/domains?connection={b.saml.id}", {}),
    ("POST", "/domains/{name}/check"): lambda b: (f"/portal/domains/{b.domain}/check", {}),
    ("POST", "/connections/{connection_id}/test"): _live("/test", {"draft": "1"}),
    ("GET", "/connections/{connection_id}/tests/latest"): _live("/tests/latest"),
    ("GET", "/tests/{test_id}"): lambda b: (f"/portal/tests/{b.test_id}", {}),
    ("GET", "/connections/{connection_id}"): _live(""),
    ("POST", "/connections/{connection_id}/switch-over"): lambda b: (
        f"/portal/connections/{b.saml.id}/switch-over",
        {"version": str(b.saml.version)},
    ),
    ("POST", "/connections/{connection_id}/discard"): _live("/discard"),
    ("GET", "/connections/{connection_id}/certificates"): _live("/certificates"),
    ("POST", "/connections/{connection_id}/certificates"): _remove_first,
    ("GET", "/directories/{directory_id}"): lambda b: (f"/portal/directories/{b.directory_id}", {}),
    ("GET", "/directories/{directory_id}/setup"): lambda b: (
        f"/portal/directories/{b.directory_id}/setup",
        {},
    ),
    ("GET", "/directories/{directory_id}/requests/latest"): lambda b: (
        f"/portal/directories/{b.directory_id}/requests/latest",
        {},
    ),
    ("POST", "/directories/{directory_id}/token"): lambda b: (
        f"/portal/directories/{b.directory_id}/token",
        {"vendor": "okta"},
    ),
    ("GET", "/connections/{connection_id}/secret"): _live("/secret", oidc=True),
    ("POST", "/connections/{connection_id}/secret"): _live(
        "/secret", {"client_secret": "stolen-by-another-tenant"}, oidc=True
    ),
}

#: Routes that name no other organization's object, and where each is tested.
OWN: dict[tuple[str, str], str] = {
    ("GET", "/link/{token}"): "test_links_and_sessions, test_security_links",
    ("POST", "/link"): "test_links_and_sessions, test_security_links",
    ("POST", "/sign-out"): "test_links_and_sessions",
    ("GET", "/signed-out"): "test_links_and_sessions",
    ("GET", "/"): "test_setup_saml (the welcome page of the session's organization)",
    ("GET", "/setup"): "test_setup_security (only the profile's IdPs)",
    ("POST", "/setup/begin"): "test_setup_security (begins the session's organization's)",
    # Also in AIMED: its query may name a connection.
    ("GET", "/domains"): "test_domains_step (the session's organization's domains)",
    ("POST", "/domains"): "test_domains_step (a claim for the session's organization)",
    ("GET", "/directories"): "test_directory_sync (the session's organization's directories)",
    ("POST", "/directories"): "test_directory_sync (a directory of the session's organization)",
}


def portal_routes(world: MaintainWorld) -> set[tuple[str, str]]:
    """(method, path template without converters) of every route the portal app serves."""
    [mount] = [r for r in world.app.routes if isinstance(r, Mount) and r.path == "/portal"]
    found: set[tuple[str, str]] = set()
    for route in mount.routes:
        if isinstance(route, Route) and route.path != "/{path:path}":  # the 404 catch-all
            template = route.path.replace(":str", "")
            found.update((method, template) for method in route.methods or () if method != "HEAD")
    return found


@pytest.fixture
def world(store: Store, tmp_path: Path, op_key: RSAKey) -> MaintainWorld:
    return build_maintain_world(store, tmp_path, op_key=op_key)


def theirs(world: MaintainWorld, organization_id: str) -> Theirs:
    management = world.broker.management
    saml, oidc = world.saml(organization_id), world.oidc(organization_id)
    next_year = world.clock.now() + timedelta(days=365)
    management.connection_drafts.add_certificate(
        ACTOR, organization_id, saml.id, certificate_pem(not_after=next_year)
    )
    saml = world.stored(saml.id)
    test_id = world.passed_test(saml, saml.draft)
    in_setup = management.connection_setup.begin(
        ACTOR, organization_id, strategy="okta", protocol="saml", offered=STRATEGIES
    )
    management.domains.add(ACTOR, organization_id, "rival.example")
    directory = management.directories.create(ACTOR, organization_id=organization_id, name="Okta")
    return Theirs(saml, oidc, in_setup, test_id, "rival.example", directory.directory.id)


def test_every_portal_route_is_classified(world: MaintainWorld) -> None:
    served = portal_routes(world)
    classified = set(AIMED) | set(OWN)
    assert served - classified == set(), "classify the new route in AIMED or OWN"
    assert classified - served == set(), "a classified route the portal no longer serves"


def test_no_route_reaches_another_organizations_object(world: MaintainWorld) -> None:
    mine = world.organization("Acme")
    rival = world.organization("Rival Inc")
    objects = theirs(world, rival.id)
    browser = world.signed_in(mine.id, enabled_features=ALL_FEATURES)
    token = csrf_token(browser.get("/portal/").text)
    before = world.rows()
    for (method, _), aimed in AIMED.items():
        path, form = aimed(objects)
        answer = send(browser, token, method, path, form)
        assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
        assert "Rival" not in answer.text
        assert objects.saml.config["idp_entity_id"] not in answer.text
    assert world.rows() == before


def test_every_answer_keeps_the_portal_out_of_frames_and_referers(world: MaintainWorld) -> None:
    """T-09 and T-05 on every route, whatever its answer (a page, a redirect, a refusal)."""
    mine = world.organization("Acme")
    objects = theirs(world, world.organization("Rival Inc").id)
    browser = world.signed_in(mine.id, enabled_features=ALL_FEATURES)
    token = csrf_token(browser.get("/portal/").text)
    requests = [(method, aimed(objects)) for (method, _), aimed in AIMED.items()]
    requests += [
        (method, (template.replace("{token}", "not-a-link"), {})) for method, template in OWN
    ]
    for method, (path, form) in requests:
        full = path if path.startswith("/portal") else f"/portal{path}"
        answer = send(browser, token, method, full, form)
        headers = answer.headers
        assert headers["x-frame-options"] == "DENY", full
        assert "frame-ancestors 'none'" in headers["content-security-policy"], full
        assert headers["referrer-policy"] == "no-referrer", full
        assert headers["x-content-type-options"] == "nosniff", full


def send(
    browser: TestClient, token: str, method: str, path: str, form: dict[str, str]
) -> httpx.Response:
    answer: httpx.Response
    if method == "GET":
        answer = browser.get(path, follow_redirects=False)
    else:
        answer = browser.post(
            path, data={"csrf": token, **form}, headers={"Origin": ISSUER}, follow_redirects=False
        )
    return answer
