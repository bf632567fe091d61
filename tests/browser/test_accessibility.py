"""Every portal page a person can reach today passes `assert_accessible` (axe-core's WCAG 2.2
A/AA rules and best practices, plus our keyboard checks), at 1280 and 360 px wide; and the
checker itself finds each kind of problem it claims to, on pages made to have it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE, Screenshots
from tests.support.browser_a11y import (
    assert_accessible,
    axe_problems,
    contrast_ratio,
    focus_problems,
    page_structure,
    reflow_problems,
    skip_link_problems,
    structure_problems,
)
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def check_both_widths(page: Page, shot: Screenshots, name: str) -> None:
    """Pictures at 1280 and 360 px, then every check (which resizes and moves focus)."""
    shot(f"{name} 1280")
    desktop = page.viewport_size
    assert desktop is not None
    page.set_viewport_size(PHONE)
    shot(f"{name} 360")
    page.set_viewport_size(desktop)
    assert_accessible(page)


def continue_from_interstitial(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Continue").click()


def test_the_interstitial(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    page.goto(world.link(world.organization().id))
    check_both_widths(page, shot, "interstitial")


@pytest.mark.parametrize("branded", [False, True], ids=["plain", "branded"])
def test_the_welcome_page(
    world: BrowserWorld, page: Page, shot: Screenshots, branded: bool
) -> None:
    org = world.organization("Acme Corporation International Holdings")
    options = {}
    if branded:
        profile = world.profile(
            primary_color="#6a1b9a",
            introduction="Acme's app signs your people in with your identity provider. " * 3,
        )
        options["profile_id"] = profile.id
    continue_from_interstitial(page, world.link(org.id, **options))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Single sign-on for")
    check_both_widths(page, shot, "welcome")


def test_the_signed_out_page(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    continue_from_interstitial(page, world.link(world.organization().id))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    check_both_widths(page, shot, "signed out")


def test_the_no_session_page(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    page.goto(f"{world.portal_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open your setup link again")
    check_both_widths(page, shot, "no session")


def test_the_refused_link_page(world: BrowserWorld, page: Page, shot: Screenshots) -> None:
    issued = world.issue(world.organization().id)
    world.revoke(issued)
    continue_from_interstitial(page, issued.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")
    check_both_widths(page, shot, "refused")


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "signed-in"])
def test_the_not_found_page(
    world: BrowserWorld, page: Page, shot: Screenshots, signed_in: bool
) -> None:
    if signed_in:
        continue_from_interstitial(page, world.link(world.organization().id))
    page.goto(f"{world.portal_url}/connections/con_nothing_here/overview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    check_both_widths(page, shot, "not found")


# -- the checker finds what it claims to ----------------------------------------------------

GOOD_STYLE = """
  body { font: 16px/1.5 sans-serif; color: #1f2328; background: #fff; margin: 0; }
  .skip { position: absolute; left: -999px; }
  .skip:focus { left: 1rem; top: 1rem; }
  :focus-visible { outline: 3px solid #b35900; outline-offset: 2px; }
"""


def page_with(body: str, *, style: str = "", lang: str = ' lang="en"') -> str:
    return f"""<!doctype html><html{lang}><head><meta charset="utf-8"><title>Check</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{GOOD_STYLE}{style}</style></head>
<body><a class="skip" href="#main">Skip to content</a>
<header><span>Header</span></header>
<main id="main" tabindex="-1">{body}</main>
<footer><span>Footer</span></footer></body></html>"""


GOOD_BODY = """<h1>Title</h1><h2>Part</h2>
<form><label for="name">Your name</label><input id="name" type="text">
<button type="submit">Save</button></form>"""

Check = Callable[["Page"], list[str]]


def structure(page: Page) -> list[str]:
    return structure_problems(page_structure(page))


def test_a_good_page_passes_every_check(page: Page) -> None:
    page.set_content(page_with(GOOD_BODY))
    assert_accessible(page)


@pytest.mark.parametrize(
    ("html", "check", "expected"),
    [
        pytest.param(page_with(GOOD_BODY, lang=""), structure, "no lang", id="lang"),
        pytest.param(page_with(GOOD_BODY + "<h1>Again</h1>"), structure, "2 <h1>", id="two-h1"),
        pytest.param(page_with("<h1>T</h1><h3>Deep</h3>"), structure, "a level is skipped",
                     id="heading-order"),
        pytest.param(page_with("<h1>T</h1><input type=text id=x>"), structure,
                     "input#x has no label", id="label"),
        pytest.param(page_with("<h1>T</h1><button></button>"), structure, "button has no label",
                     id="button-name"),
        pytest.param(page_with(GOOD_BODY).replace('<a class="skip" href="#main">'
                     "Skip to content</a>", ""), skip_link_problems, "not a skip link",
                     id="no-skip-link"),
        pytest.param(page_with(GOOD_BODY).replace('tabindex="-1"', ""), skip_link_problems,
                     "not in <main>", id="skip-link-leaves-focus"),
        pytest.param(page_with(GOOD_BODY, style=".skip:focus { left: -999px; }"),
                     skip_link_problems, "off screen", id="skip-link-hidden"),
        pytest.param(page_with(GOOD_BODY, style="button:focus-visible { outline: none; }"),
                     focus_problems, "<button> 'Save' shows no visible focus", id="focus"),
        pytest.param(page_with(GOOD_BODY, style=":focus-visible { outline-color: #fb8f44; }"),
                     focus_problems, "shows no visible focus", id="focus-faint"),
        pytest.param(page_with(GOOD_BODY + '<pre>' + "x" * 200 + "</pre>"), reflow_problems,
                     "scrolls sideways", id="reflow-360"),
        pytest.param(page_with(GOOD_BODY + '<p class="faint">Pale text</p>',
                     style=".faint { color: #bbb; }"), axe_problems, "axe color-contrast",
                     id="contrast"),
        pytest.param(page_with(GOOD_BODY + '<img src="data:,">'), axe_problems,
                     "axe image-alt", id="axe-rules"),
    ],
)  # fmt: skip
def test_the_checker_finds(page: Page, html: str, check: Check, expected: str) -> None:
    page.set_content(html)
    problems = check(page)
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(AssertionError, match="is not accessible"):
        assert_accessible(page)


@pytest.mark.parametrize(
    ("foreground", "background", "ratio"),
    [
        ("rgb(0, 0, 0)", "rgb(255, 255, 255)", 21.0),
        ("rgb(255, 255, 255)", "rgb(255, 255, 255)", 1.0),
        ("rgb(119, 119, 119)", "rgb(255, 255, 255)", 4.48),
        ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)", 1.0),
        ("rgba(0, 0, 0, 0.5)", "rgb(255, 255, 255)", 3.98),
        ("rgb(251, 143, 68)", "rgb(255, 255, 255)", 2.30),
    ],
)
def test_contrast_ratio(foreground: str, background: str, ratio: float) -> None:
    assert contrast_ratio(foreground, background) == pytest.approx(ratio, abs=0.01)
