"""Accessibility checks for a page in the real browser: `assert_accessible(page)`.

Two layers, because neither sees everything:

- axe-core, Deque's rules engine (WCAG 2.2 A/AA and best practices: labels and names, `lang`,
  colour contrast of text, landmarks, heading order, ...). It comes from PyPI inside the
  axe-playwright-python package (a pinned dev dependency), so it works offline and nothing
  minified is committed here; we inject it and read its results ourselves.
- Our own checks of what a rules engine reading the DOM cannot see, done as a keyboard user
  would: the skip link is the first Tab stop and really moves focus to the main content;
  every stop of the Tab order has a visible focus outline (computed style, while focused);
  nothing scrolls sideways at 360 px. Also, stricter than axe's defaults: exactly one h1,
  heading levels that never skip on the way down, every form control labelled.

Each check returns the problems it found as sentences; `assert_accessible` runs them all
and fails once, listing every problem, so one run shows everything to fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from tests.support.browser import PHONE

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and Deque's best practices (one main landmark,
#: content inside landmarks, heading order, ...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
#: Rules that must have run on a page with text: an empty run would pass silently.
AXE_REQUIRED_RULES = ("color-contrast", "html-has-lang", "document-title")
MAX_TAB_STOPS = 200
#: The thinnest focus outline we call visible (the portal draws 3 px), and how far its
#: colour must stand out from the background it is drawn on (WCAG 1.4.11, non-text: 3:1).
MIN_OUTLINE_PX = 2.0
MIN_FOCUS_CONTRAST = 3.0


def assert_accessible(page: Page) -> None:
    """Every check on the page as it is now. It moves focus and briefly resizes the
    viewport (restored at the end), so take the step's screenshot before calling it."""
    problems = [
        *axe_problems(page),
        *structure_problems(page_structure(page)),
        *skip_link_problems(page),
        *focus_problems(page),
        *reflow_problems(page),
    ]
    assert not problems, f"{page.url} is not accessible:\n- " + "\n- ".join(problems)


# -- axe-core -------------------------------------------------------------------------------


def axe_results(page: Page) -> Mapping[str, Any]:
    """axe-core's raw results for the page (`violations`, `incomplete`, `passes`, ...).
    Injected through the DevTools protocol, which the page's CSP does not govern."""
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results: Mapping[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    return results


def axe_problems(page: Page) -> list[str]:
    results = axe_results(page)
    problems = [
        f"axe {violation['id']} ({violation['impact']}): {violation['help']} at "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"])
        for violation in results["violations"]
    ]
    # A colour pair axe could not decide (text over an image, say) is a problem too: the
    # portal's text sits on plain colours, and should stay decidable.
    problems += [
        f"axe could not decide {item['id']}: "
        + "; ".join(" ".join(node["target"]) for node in item["nodes"])
        for item in results["incomplete"]
        if item["id"] == "color-contrast"
    ]
    ran = {rule["id"] for kind in ("passes", "violations") for rule in results[kind]}
    problems += [f"axe rule {rule} did not run" for rule in AXE_REQUIRED_RULES if rule not in ran]
    return problems


# -- structure: lang, headings, labels ------------------------------------------------------

_STRUCTURE_JS = """() => {
  const shown = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const text = el => (el ? el.textContent : "").replace(/\\s+/g, " ").trim();
  const byIds = ids => (ids || "").split(/\\s+/).filter(Boolean)
    .map(id => text(document.getElementById(id))).join(" ").trim();
  const describe = el => el.tagName.toLowerCase()
    + (el.id ? "#" + el.id : "") + (el.name ? `[name=${el.name}]` : "");
  const controls = [...document.querySelectorAll(
      "input:not([type=hidden]), select, textarea, button")].filter(shown).map(el => {
    let name = [...(el.labels || [])].map(text).join(" ").trim()
      || (el.getAttribute("aria-label") || "").trim()
      || byIds(el.getAttribute("aria-labelledby"));
    if (!name && el.tagName === "BUTTON") name = text(el);
    if (!name && ["submit", "button", "reset"].includes(el.type)) name = el.value || "";
    return {control: describe(el), name};
  });
  return {
    lang: document.documentElement.getAttribute("lang") || "",
    title: document.title,
    headings: [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].filter(shown)
      .map(h => ({level: Number(h.tagName[1]), text: text(h)})),
    controls,
  };
}"""


def page_structure(page: Page) -> Mapping[str, Any]:
    """The facts the structure check judges, read from the live DOM."""
    structure: Mapping[str, Any] = page.evaluate(_STRUCTURE_JS)
    return structure


def structure_problems(structure: Mapping[str, Any]) -> list[str]:
    problems = []
    if not str(structure["lang"]).strip():
        problems.append("<html> has no lang attribute")
    if not str(structure["title"]).strip():
        problems.append("the page has no <title>")
    headings: Sequence[Mapping[str, Any]] = structure["headings"]
    h1s = [h["text"] for h in headings if h["level"] == 1]
    if len(h1s) != 1:
        problems.append(f"{len(h1s)} <h1> on the page, not one: {h1s}")
    if headings and headings[0]["level"] != 1:
        problems.append(f"the first heading is h{headings[0]['level']}, not h1")
    for before, after in pairwise(headings):
        if after["level"] > before["level"] + 1:
            problems.append(
                f"heading h{after['level']} {after['text']!r} follows "
                f"h{before['level']} {before['text']!r}: a level is skipped"
            )
    problems += [
        f"{control['control']} has no label" for control in structure["controls"]
        if not control["name"]
    ]  # fmt: skip
    return problems


# -- the keyboard: skip link and visible focus ----------------------------------------------

_FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    index: [...document.querySelectorAll("*")].indexOf(el),
    tag: el.tagName.toLowerCase(),
    id: el.id || "",
    href: el.getAttribute("href") || "",
    text: (el.textContent || el.value || "").replace(/\\s+/g, " ").trim().slice(0, 60),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    outlineColor: style.outlineColor,
    boxShadow: style.boxShadow,
    // What the outline is drawn on: the first ancestor with a background of its own.
    around: (() => {
      for (let up = el.parentElement; up; up = up.parentElement) {
        const color = getComputedStyle(up).backgroundColor;
        if (color !== "transparent" && !/^rgba\\(.*, 0\\)$/.test(color)) return color;
      }
      return "rgb(255, 255, 255)";
    })(),
    onScreen: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < window.innerWidth && box.top < window.innerHeight,
  };
}"""

# Sequential focus navigation starts from the focused element, or from where focus last
# was: a focusable-by-script marker as the body's first child, focused and removed, puts
# the start at the top of the document as on a fresh load, without loading the page again
# (which would resend a form).
_FOCUS_START_JS = """() => {
  const marker = document.createElement("span");
  marker.tabIndex = -1;
  document.body.prepend(marker);
  marker.focus();
  marker.remove();
}"""


def focused(page: Page) -> Mapping[str, Any] | None:
    facts: Mapping[str, Any] | None = page.evaluate(_FOCUSED_JS)
    return facts


def tab_stops(page: Page) -> list[Mapping[str, Any]]:
    """Press Tab from the top of the page until focus leaves the document or comes back
    around; the focused element's facts at each stop, in order."""
    page.evaluate(_FOCUS_START_JS)
    stops: list[Mapping[str, Any]] = []
    seen: set[int] = set()
    for _ in range(MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop is None or stop["index"] in seen:
            break
        seen.add(stop["index"])
        stops.append(stop)
    return stops


def describe(stop: Mapping[str, Any]) -> str:
    ident = f"#{stop['id']}" if stop["id"] else ""
    return f"<{stop['tag']}{ident}> {stop['text']!r}"


def outline_visible(stop: Mapping[str, Any]) -> bool:
    """An outline of at least 2 px whose colour stands out 3:1 from what it is drawn on
    (WCAG 1.4.11), or a box-shadow ring (not judged further)."""
    if stop["boxShadow"] not in ("", "none"):
        return True
    return (
        stop["outlineStyle"] not in ("none", "hidden")
        and stop["outlineWidth"] >= MIN_OUTLINE_PX
        and contrast_ratio(stop["outlineColor"], stop["around"]) >= MIN_FOCUS_CONTRAST
    )


def parse_color(color: str) -> tuple[float, float, float, float]:
    """`rgb(r, g, b)` or `rgba(r, g, b, a)` as computed styles write them; `transparent`."""
    if color == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    found = re.fullmatch(r"rgba?\(([^)]*)\)", color.strip())
    if not found:
        raise ValueError(f"not a computed colour: {color!r}")
    parts = [float(part) for part in re.split(r"[,\s/]+", found.group(1).strip()) if part]
    red, green, blue = parts[:3]
    return (red, green, blue, parts[3] if len(parts) > 3 else 1.0)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio; a translucent foreground is blended over the background,
    which is taken as opaque."""
    fg, bg = parse_color(foreground), parse_color(background)
    alpha = fg[3]
    blended = [fg[i] * alpha + bg[i] * (1 - alpha) for i in range(3)]
    lighter, darker = sorted((_luminance(blended), _luminance(bg[:3])), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(rgb: Sequence[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def focus_problems(page: Page) -> list[str]:
    stops = tab_stops(page)
    if not stops:
        return ["Tab reaches nothing on the page"]
    problems = []
    for stop in stops:
        if not outline_visible(stop):
            problems.append(
                f"{describe(stop)} shows no visible focus (outline {stop['outlineStyle']} "
                f"{stop['outlineWidth']}px {stop['outlineColor']} on {stop['around']}, "
                f"box-shadow {stop['boxShadow']})"
            )
        if not stop["onScreen"]:
            problems.append(f"{describe(stop)} is focused off screen")
    return problems


def skip_link_problems(page: Page) -> list[str]:
    """The first Tab stop is a visible "skip" link to the main content, and following it
    puts keyboard focus in <main> (the next Tab continues from there)."""
    page.evaluate(_FOCUS_START_JS)
    page.keyboard.press("Tab")
    first = focused(page)
    if first is None or first["tag"] != "a" or not first["href"].startswith("#"):
        return [f"the first Tab stop is not a skip link: {describe(first) if first else None}"]
    problems = []
    if not first["onScreen"]:
        problems.append(f"the skip link {describe(first)} stays off screen when focused")
    target = first["href"][1:]
    page.keyboard.press("Enter")
    landed = focused(page)
    in_main = page.evaluate(
        "() => !!document.activeElement && !!document.activeElement.closest('main')"
    )
    if not in_main:
        problems.append(
            f"following the skip link (#{target}) leaves focus on "
            f"{describe(landed) if landed else 'nothing'}, not in <main>"
        )
    return problems


# -- 360 px ---------------------------------------------------------------------------------


def reflow_problems(page: Page, width: int = PHONE["width"]) -> list[str]:
    """WCAG 1.4.10: at 360 CSS px nothing makes the page scroll sideways."""
    original = page.viewport_size
    page.set_viewport_size({"width": width, "height": PHONE["height"]})
    try:
        scroll_width: int = page.evaluate("() => document.documentElement.scrollWidth")
        wide: list[str] = page.evaluate(
            """width => [...document.querySelectorAll("body *")]
                 .filter(el => el.getBoundingClientRect().right > width + 0.5)
                 .slice(0, 5).map(el => el.tagName.toLowerCase()
                   + (el.className ? "." + String(el.className).split(" ").join(".") : ""))""",
            width,
        )
    finally:
        if original is not None:
            page.set_viewport_size(original)
    if scroll_width <= width:
        return []
    return [f"at {width} px the page is {scroll_width} px wide (scrolls sideways): {wide}"]
