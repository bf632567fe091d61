"""The vendor guides: one for every product and protocol a tile offers, each naming every
value the IdP needs (behind a copy button) and the attributes to send under the names that
vendor uses, the profile's required ones marked as such."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_portal.emphasis import emphasize
from admin_portal.guides import GUIDES, guide_for
from admin_portal.guides.model import OIDC_VALUES, SAML_VALUES
from broker.management.connection_setup import protocols
from broker.model.vendors import PRODUCTS, STRATEGIES
from broker.store import Store
from broker.upstream.config_fields import STANDARD_CLAIMS
from broker.upstream.oidc.vendors import VENDORS
from broker.upstream.saml.attributes import PROFILES
from tests.admin_portal.setup_world import SetupWorld, setup_world
from tests.support.gatehouse import ACTOR

PAIRS = [(s, p) for s in STRATEGIES for p in protocols(s)]


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[SetupWorld]:
    with setup_world(store, tmp_path) as built:
        yield built


@pytest.mark.parametrize(("strategy", "protocol"), PAIRS)
def test_every_tile_has_its_guide_and_each_guide_asks_for_what_the_idp_needs(
    strategy: str, protocol: str
) -> None:
    guide = GUIDES[protocol][strategy]
    assert guide_for(strategy, protocol) is guide
    assert (guide.strategy, guide.protocol) == (strategy, protocol)
    assert sum(step.attributes for step in guide.steps) == 1
    assert guide.bring_back
    assert set(STANDARD_CLAIMS) <= set(guide.sources)
    if protocol == "saml":
        assert guide.values_used <= set(SAML_VALUES)
        assert {"acs_url", "sp_entity_id"} <= guide.values_used or (
            "sp_metadata_url" in guide.values_used
        )
    else:
        assert guide.values_used <= set(OIDC_VALUES)
        assert {"redirect_uri", "scopes"} <= guide.values_used


def test_no_guide_is_left_without_a_tile() -> None:
    assert set(GUIDES["saml"]) == {s for s, p in PAIRS if p == "saml"}
    assert set(GUIDES["oidc"]) == {s for s, p in PAIRS if p == "oidc"}


def test_a_connection_made_elsewhere_gets_the_generic_guide() -> None:
    assert guide_for(None, "saml").strategy == "generic-saml"
    assert guide_for(None, "oidc").strategy == "generic-oidc"


def test_guide_text_is_escaped_before_it_is_emphasized() -> None:
    shown = emphasize("<img src=x onerror=alert(1)> **Save** `a<b`")
    assert str(shown) == (
        "&lt;img src=x onerror=alert(1)&gt; <strong>Save</strong> <code>a&lt;b</code>"
    )


@pytest.mark.parametrize(("strategy", "protocol"), PAIRS)
def test_each_guide_page_shows_every_value_and_attribute(
    world: SetupWorld, strategy: str, protocol: str
) -> None:
    org = world.organization()
    connection = world.broker.management.connection_setup.begin(
        ACTOR, org.id, strategy=strategy, protocol=protocol, offered=STRATEGIES,
        required_claims=("email", "family_name"),
    )  # fmt: skip
    browser = world.signed_in(org.id)
    page = browser.get(f"/portal/setup/{connection.id}/guide")
    assert page.status_code == 200, page.text
    text = page.text
    base = f"https://gatehouse.test/{protocol}/{connection.id}"
    if protocol == "saml":
        needed = [f"{base}/acs", f"{base}/metadata"]
        assert f'href="{base}/metadata" download' in text
        names = PROFILES[PRODUCTS[strategy].saml_profile]
    else:
        needed = [f"{base}/callback", "openid profile email"]
        names = VENDORS[connection.config["vendor"]].claim_names
    for value in needed:
        assert f">{value}</code>" in text, value
    assert 'data-copy="top-' in text
    for claim in STANDARD_CLAIMS:
        shown = html.escape(names[claim][0])
        assert f">{shown}</code>" in text, (claim, shown)
    table = text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    family = table.split("Last name", 1)[1].split("</tr>", 1)[0]
    assert "Required" in family
    given = table.split("First name", 1)[1].split("</tr>", 1)[0]
    assert "Optional" in given
    assert "**" not in text
    assert "`" not in text
    # Every step's value is the connection's own, behind its own copy button.
    assert text.count('data-copy="s') >= len(STANDARD_CLAIMS) + 1


def test_the_entra_saml_guide_names_entras_claim_uris(world: SetupWorld) -> None:
    org = world.organization()
    connection = world.begin(org.id, "entra", "saml")
    page = world.signed_in(org.id).get(f"/portal/setup/{connection.id}/guide").text
    assert ">http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress</code>" in page
    assert "Reply URL (Assertion Consumer Service URL)" in page
    assert "App Federation Metadata Url" in page


def test_the_entra_and_google_oidc_guides_say_what_those_vendors_do_differently(
    world: SetupWorld,
) -> None:
    org = world.organization()
    browser = world.signed_in(org.id)
    entra = world.begin(org.id, "entra", "oidc")
    page = browser.get(f"/portal/setup/{entra.id}/guide").text
    assert "<code>preferred_username</code>" in page
    assert "Directory (tenant) ID" in page
    google = world.begin(org.id, "google", "oidc")
    page = browser.get(f"/portal/setup/{google.id}/guide").text
    assert "<code>hd</code>" in page
    assert "Authorized redirect URIs" in page
