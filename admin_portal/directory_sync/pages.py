"""The directory sync pages' handlers: thin, each reads its directory through
`directory_of` (this organization's only, T-04) and calls `broker.management.directories`.

A token (T-13) is shown in the one answer that made it (the POST that created the directory, or
rotated its token), never again: Gatehouse keeps only its hash. That answer is a page, not
a redirect, so the value never travels in a URL; `Cache-Control: no-store` (every portal
page) keeps it out of the browser's cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from admin_portal.directory_sync.diagnosis import Diagnosis, diagnose
from admin_portal.directory_sync.guides import SCIM_GUIDES, ScimGuide, scim_guide
from admin_portal.emphasis import emphasize
from admin_portal.page_context import Portal, Visit
from broker.management.directories import DirectorySummary, IssuedToken
from broker.management.errors import InvalidInput, ResourceNotFound
from broker.model.directories import Directory, DirectoryRequest, LinkKey
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)

FEATURE = "directory_sync"
#: Directories one organization may create from the portal: one per IdP is the need; the
#: cap keeps a session from filling tables.
MAX_DIRECTORIES = 10
#: Log entries a page shows (the store keeps at most `REQUEST_LOG_SIZE` per directory).
LOG_SHOWN = 50


@dataclass(frozen=True, slots=True)
class GuideView:
    """A guide with its texts made HTML (escaped first: `emphasize`)."""

    guide: ScimGuide
    steps: tuple[tuple[Markup, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class DiagnosisView:
    diagnosis: Diagnosis
    advice: tuple[Markup, ...]


def directory_of(portal: Portal, visit: Visit, directory_id: str) -> Directory:
    """The one way a page reads a directory from an id in its URL: the link must grant
    directory sync, and the directory must be this organization's (T-04: another's is
    "not found", exactly as an absent one)."""
    visit.require(FEATURE)
    directory = portal.management.directories.get(directory_id)
    if directory.organization_id != visit.organization.id:
        raise ResourceNotFound(f"directory {directory_id}")
    return directory


def base_url(portal: Portal, directory: Directory) -> str:
    return f"{portal.management.deps.issuer}/scim/v2/{directory.id}"


def guide_view(guide: ScimGuide) -> GuideView:
    return GuideView(guide, tuple((emphasize(s.text), s.values) for s in guide.steps))


def diagnosis_view(diagnosis: Diagnosis) -> DiagnosisView:
    return DiagnosisView(diagnosis, tuple(emphasize(text) for text in diagnosis.advice))


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _vendor(source: Mapping[str, Any]) -> str | None:
    vendor = _text(source, "vendor")
    return vendor if vendor in SCIM_GUIDES else None


class DirectoryPages:
    def __init__(self, portal: Portal) -> None:
        self._portal = portal

    # -- the list, and a new directory ------------------------------------------------------

    async def index(self, request: Request, visit: Visit) -> Response:
        visit.require(FEATURE)
        return await self._index(request, visit)

    async def _index(
        self, request: Request, visit: Visit, *, error: str = "", status: int = 200
    ) -> Response:
        directories = await run_in_threadpool(self._directories, visit)
        return self._portal.render(
            request, "directories.html",
            {"directories": directories, "guides": list(SCIM_GUIDES.values()),
             "link_keys": [k.value for k in LinkKey], "error": error,
             "full": len(directories) >= MAX_DIRECTORIES},
            visit=visit, status=status,
        )  # fmt: skip

    def _directories(self, visit: Visit) -> Sequence[Directory]:
        return self._portal.management.directories.page(
            organization_id=visit.organization.id, after=None, limit=MAX_DIRECTORIES
        )

    async def create(self, request: Request, visit: Visit) -> Response:
        form = await self._portal.form(request, visit)
        visit.require(FEATURE)
        guide = scim_guide(_vendor(form))
        if len(await run_in_threadpool(self._directories, visit)) >= MAX_DIRECTORIES:
            return await self._index(
                request, visit, status=409,
                error=f"Your organization has {MAX_DIRECTORIES} directories already.",
            )  # fmt: skip
        name = guide.product if guide.vendor != "generic" else "SCIM directory"
        try:
            issued = await run_in_threadpool(
                lambda: self._portal.management.directories.create(
                    visit.actor,
                    organization_id=visit.organization.id,
                    name=name,
                    link_key=_text(form, "link_key") or LinkKey.EMAIL.value,
                )
            )
        except InvalidInput:
            return await self._index(
                request, visit, status=422,
                error="Choose how a provisioned person is matched to the one who signs in.",
            )  # fmt: skip
        log.info(
            "portal directory created org=%s id=%s", visit.organization.id, issued.directory.id
        )
        return await self._setup(request, visit, issued.directory, guide, issued=issued)

    # -- set-up: the guide, the base URL and the token --------------------------------------

    async def setup(self, request: Request, visit: Visit) -> Response:
        directory = await run_in_threadpool(
            directory_of, self._portal, visit, str(request.path_params["directory_id"])
        )
        guide = scim_guide(_vendor(request.query_params), directory.name)
        return await self._setup(request, visit, directory, guide)

    async def rotate(self, request: Request, visit: Visit) -> Response:
        form = await self._portal.form(request, visit)
        directory = await run_in_threadpool(
            directory_of, self._portal, visit, str(request.path_params["directory_id"])
        )
        issued = await run_in_threadpool(
            self._portal.management.directories.rotate_token, visit.actor, directory.id
        )
        log.info("portal directory token rotated org=%s id=%s", visit.organization.id, directory.id)
        guide = scim_guide(_vendor(form), directory.name)
        return await self._setup(request, visit, directory, guide, issued=issued)

    async def _setup(
        self,
        request: Request,
        visit: Visit,
        directory: Directory,
        guide: ScimGuide,
        *,
        issued: IssuedToken | None = None,
    ) -> Response:
        tokens = await run_in_threadpool(self._portal.management.directories.tokens, directory.id)
        now = self._portal.clock.now()
        live = [t for t in tokens if t.usable(now)]
        previous_until = issued.previous_expires_at if issued else None
        return self._portal.render(
            request, "directory_setup.html",
            {"directory": directory, "page": guide_view(guide),
             "guides": list(SCIM_GUIDES.values()),
             "base_url": base_url(self._portal, directory),
             "token": issued.token if issued else None,
             "previous_until": previous_until if isinstance(previous_until, datetime) else None,
             "live_since": live[-1].created_at if live else None},
            visit=visit,
        )  # fmt: skip

    # -- the directory: what arrived, counts, the log ---------------------------------------

    async def show(self, request: Request, visit: Visit) -> Response:
        found = await run_in_threadpool(
            self._status, visit, str(request.path_params["directory_id"])
        )
        directory, summary, requests = found
        guide = scim_guide(_vendor(request.query_params), directory.name)
        url = base_url(self._portal, directory)
        return self._portal.render(
            request, "directory.html",
            {"directory": directory, "guide": guide, "base_url": url, "summary": summary,
             "requests": requests,
             "found": diagnosis_view(diagnose(requests, guide, url))},
            visit=visit,
        )  # fmt: skip

    def _status(
        self, visit: Visit, directory_id: str
    ) -> tuple[Directory, DirectorySummary, Sequence[DirectoryRequest]]:
        directory = directory_of(self._portal, visit, directory_id)
        directories = self._portal.management.directories
        requests = directories.requests(directory.id, limit=LOG_SHOWN)
        return directory, directories.summary(directory.id), requests

    async def latest(self, request: Request, visit: Visit) -> Response:
        """The newest logged request's id, for the page that waits on the first one
        (static/portal.js, as a test step waits on a test)."""

        def newest() -> str | None:
            directory = directory_of(self._portal, visit, str(request.path_params["directory_id"]))
            found = self._portal.management.directories.requests(directory.id, limit=1)
            return found[0].id if found else None

        latest = await run_in_threadpool(newest)
        return JSONResponse({"latest": latest}, headers={"Cache-Control": "no-store"})
