"""The tier's own guards do their job: what counts as a page error, and where pictures go."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.browser import PageLog, Screenshots, folder_name, screenshots_root
from tests.support.browser_world import BrowserWorld

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.browser


def test_script_errors_and_failed_subresources_are_page_errors(
    world: BrowserWorld, context: BrowserContext, page: Page, page_log: PageLog
) -> None:
    page.goto(f"{world.portal_url}/signed-out")
    page.evaluate(
        """url => { const link = document.createElement("link");
                    link.rel = "stylesheet"; link.href = url; document.head.append(link); }""",
        f"{world.portal_url}/static/missing.css",
    )
    page.wait_for_load_state("networkidle")
    other = context.new_page()  # watched too: a test login's new tab is such a page
    other.set_content("<script>console.error('boom'); undefined_function();</script>")
    errors = "\n".join(page_log.errors)
    assert f"{world.portal_url}/static/missing.css" in errors
    assert "console: boom" in errors
    assert "uncaught: undefined_function is not defined" in errors
    page_log.errors.clear()


def test_a_portal_page_that_is_a_404_is_not_a_page_error(
    world: BrowserWorld, page: Page, page_log: PageLog
) -> None:
    response = page.goto(f"{world.portal_url}/nowhere")
    assert response is not None
    assert response.status == 404
    assert page_log.errors == []


def test_the_portal_csp_refuses_an_inline_script_and_says_so(
    world: BrowserWorld, page: Page, page_log: PageLog
) -> None:
    """T-10's last line of defence, seen from the browser: markup that got into a portal
    page cannot run script, and the refusal is a page error the tier reports."""
    page.goto(f"{world.portal_url}/signed-out")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.ran = true"; document.body.append(s); }"""
    )
    assert page.evaluate("() => window.ran") is None
    assert any("Content Security Policy" in error for error in page_log.errors), page_log.errors
    page_log.errors.clear()


def test_screenshots_are_numbered_per_test(request: pytest.FixtureRequest, shot: Screenshots):
    shot.page.set_content("<h1>One</h1>")
    first = shot("First step!")
    second = shot("second")
    folder = screenshots_root() / folder_name(request.node.nodeid)
    assert [first, second] == [folder / "01-first-step.png", folder / "02-second.png"]
    assert first.read_bytes().startswith(b"\x89PNG")


def test_folder_names() -> None:
    assert folder_name("tests/browser/test_x.py::test_y[sqlite-signed in]") == (
        "test_x.test_y-sqlite-signed-in"
    )
