"""The page's SCIM routes: `GET /scim` shows the form, `POST /scim` runs a scenario and shows
what was sent. Thin: parse the form, play once in a thread, render (autoescaped)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idp_simulator.pending import PendingRequests
from idp_simulator.scim.client import ScimClient
from idp_simulator.scim.directory import build_directory
from idp_simulator.scim.form import (
    DEFAULTS,
    MAX_PAGE_GROUPS,
    MAX_PAGE_USERS,
    ScimFormError,
    ScimRun,
    StoredTokens,
    parse_scim_form,
)
from idp_simulator.scim.scenarios import DIALECTS, SCENARIOS, ScenarioSummary, play
from idp_simulator.web import Pages, ParameterError, form_items, single_valued

__all__ = ["ScimConsole", "scim_routes"]

#: Per request, and how many unanswered in a row end the run (see ScimClient).
PAGE_TIMEOUT_SECONDS = 5.0
PAGE_GIVE_UP_AFTER = 3
#: Rows of the request table on the page; the summary counts them all.
SHOWN_EXCHANGES = 300


class ScimConsole:
    """What the page keeps between requests: issued form keys and stored tokens."""

    def __init__(self) -> None:
        self.form_keys = PendingRequests[bool]()
        self.tokens = StoredTokens()

    def form_context(self, form: dict[str, str], problem: str | None = None) -> dict[str, object]:
        """What `_scim_form.html` needs; a fresh single-use key each time it is shown."""
        return {
            "scim_form": {key: value for key, value in form.items() if key != "token"},
            "scim_key": self.form_keys.put(True),
            "scim_error": problem,
            "scim_dialects": sorted(DIALECTS),
            "scim_scenarios": list(SCENARIOS),
            "scim_limits": (MAX_PAGE_USERS, MAX_PAGE_GROUPS),
            "scim_token_stored": self.tokens.known(form.get("url", "").strip().rstrip("/")),
        }


def _play(run: ScimRun, token: str) -> ScenarioSummary:
    directory = build_directory(run.users, run.groups, seed="gatehouse")
    with ScimClient(
        run.url,
        token,
        concurrency=4,
        timeout=PAGE_TIMEOUT_SECONDS,
        give_up_after=PAGE_GIVE_UP_AFTER,
    ) as client:
        return play(run.scenario, client, run.dialect, directory, concurrency=4)


def scim_routes(pages: Pages, console: ScimConsole) -> list[Route]:
    def show(request: Request, form: dict[str, str], problem: str | None, status: int) -> Response:
        context = {**console.form_context(form, problem), "summary": None, "shown": []}
        return pages.render(request, "scim.html", context, status)

    def page(request: Request) -> Response:
        return show(request, dict(DEFAULTS), None, 200)

    async def run(request: Request) -> Response:
        try:
            fields = single_valued(await form_items(request))
        except ParameterError as exc:
            return show(request, dict(DEFAULTS), str(exc), 400)
        form = {**DEFAULTS, **{k: v for k, v in fields.items() if k in DEFAULTS}}
        if console.form_keys.pop(fields.get("key", "")) is None:
            problem = "This form expired or was already used: submit it again from this page."
            return show(request, form, problem, 400)
        try:
            scim_run = parse_scim_form(fields)
            token = console.tokens.resolve(scim_run)
        except ScimFormError as exc:
            return show(request, form, str(exc), 400)
        summary = await run_in_threadpool(_play, scim_run, token)
        context = {
            **console.form_context(form),
            "summary": summary,
            "shown": summary.exchanges[-SHOWN_EXCHANGES:],
        }
        return pages.render(request, "scim.html", context)

    return [
        Route("/scim", page, methods=["GET"], name="scim"),
        Route("/scim", run, methods=["POST"], name="scim_run"),
    ]
