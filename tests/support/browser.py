"""A real headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

We never run `playwright install`: Playwright's own browser builds are downloads that this
project does not depend on. Playwright drives the distribution's Chromium through
`executable_path`; .ci/run installs it (`apt-get install chromium`) when it is missing.
Without it the tier is skipped locally and fails under GATEHOUSE_TEST_STRICT=1 (CI).

Playwright is imported lazily, so a checkout whose venv predates it still collects the rest
of the suite and reports this tier as missing instead of erroring at import.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Error,
        Page,
        Response,
        ViewportSize,
    )

ROOT = Path(__file__).resolve().parents[2]
#: Debian's Chromium; GATEHOUSE_CHROMIUM points elsewhere on another system.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
#: What a person's laptop shows, and the narrowest phone the portal must work on.
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}
#: How long one step may wait for the page: servers are local, so anything slower is a bug.
STEP_TIMEOUT_MS = 10_000


def chromium_path() -> Path:
    return Path(os.environ.get("GATEHOUSE_CHROMIUM", DEFAULT_CHROMIUM))


def chromium_problem() -> str | None:
    """Why the browser tier cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    path = chromium_path()
    if not os.access(path, os.X_OK):
        return f"{path} not found: apt-get install chromium (or set GATEHOUSE_CHROMIUM)"
    return None


def launch_arguments() -> list[str]:
    """Flags for a container: the new headless mode (the real browser, not the old
    headless shell), no GPU, and /tmp instead of a /dev/shm that containers keep small."""
    return ["--headless=new", "--disable-gpu", "--disable-dev-shm-usage"]


def sandboxed() -> bool:
    """Chromium refuses to start its sandbox as root, so root (containers, CI) runs without
    it; anyone else keeps it. These pages are our own, served on loopback."""
    return os.geteuid() != 0


@contextmanager
def running_chromium() -> Iterator[Browser]:
    """One browser for a whole run of the tier: starting Chromium is the slow part; each
    test gets its own context (cookies, storage), which is cheap and fully isolated."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path()),
            args=launch_arguments(),
            # Playwright adds --no-sandbox unless told the sandbox may be used.
            chromium_sandbox=sandboxed(),
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


# -- screenshots ----------------------------------------------------------------------------


def screenshots_root() -> Path:
    """$GATEHOUSE_SCREENSHOTS, else var/screenshots in the checkout (CI prints its listing)."""
    configured = os.environ.get("GATEHOUSE_SCREENSHOTS")
    return Path(configured) if configured else ROOT / "var" / "screenshots"


def folder_name(nodeid: str) -> str:
    """`tests/browser/test_x.py::test_y[sqlite]` -> `test_x.test_y-sqlite`: one folder per
    test, readable in a log listing, safe on any file system."""
    path, _, name = nodeid.partition("::")
    stem = Path(path).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{stem}.{name}").strip("-")


@dataclass
class Screenshots:
    """`shot("step name")` saves the page as NN-step-name.png, numbered in order taken."""

    folder: Path
    page: Page
    taken: list[Path] = field(default_factory=list)

    @classmethod
    def for_test(cls, nodeid: str, page: Page) -> Screenshots:
        folder = screenshots_root() / folder_name(nodeid)
        # A rerun replaces the test's pictures instead of mixing in stale ones.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder=folder, page=page)

    def __call__(self, name: str, *, page: Page | None = None) -> Path:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "step"
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


# -- what the page said ---------------------------------------------------------------------


@dataclass
class PageLog:
    """Console errors, uncaught exceptions and failed subresources (a stylesheet or script
    answered 4xx/5xx) of a page. A CSP refusal is a console error, so a portal page that
    tried to run an inline script or style shows up here (T-10). A page's own status (the
    portal's 404 page is a 404) is the test's business, not an error."""

    errors: list[str] = field(default_factory=list)
    #: Documents the page received, whatever their status.
    documents: set[str] = field(default_factory=set)

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # Chromium logs every 4xx/5xx load, a document's too, where the resource's URL is
        # the message's location (a failed stylesheet gets no response event).
        if message.text.startswith("Failed to load resource") and (
            url in self.documents or urlsplit(url).path == "/favicon.ico"
        ):
            return  # a page's own status, or the browser asking for an icon of its own
        self.errors.append(f"console: {message.text} ({url})")

    def _page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error.message}")

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document":
            self.documents.add(response.url)
