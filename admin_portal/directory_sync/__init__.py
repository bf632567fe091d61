"""Directory sync (SCIM provisioning), when the link grants `directory_sync`: the IT admin
makes a directory, pastes its base URL and token into their IdP following that IdP's guide
(`guides.py`), and watches the IdP's first requests arrive, with a diagnosis in the words of
its console (`diagnosis.py`).

    GET  /directories                           the organization's directories; a new one
    POST /directories                           make one (form: vendor, link_key): its token
                                                is shown in this answer only
    GET  /directories/{id}/setup                the guide, the base URL (?vendor= another IdP)
    POST /directories/{id}/token                rotate: the new token in this answer only; the
                                                old one keeps working for the overlap (24 h)
    GET  /directories/{id}                      what arrived (diagnosis), counts, recent requests
    GET  /directories/{id}/requests/latest      {"latest": <newest request id> | null}, for the
                                                page that waits (static/portal.js)

Every page needs the feature and reads its directory through `pages.directory_of` (T-04:
another organization's directory is "not found"); forms go through `Portal.form` (T-08).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from admin_portal.directory_sync.pages import DirectoryPages
from admin_portal.page_context import Portal


def routes(portal: Portal) -> list[BaseRoute]:
    pages = DirectoryPages(portal)
    return [
        Route("/directories", portal.with_visit(pages.index), methods=["GET"]),
        Route("/directories", portal.with_visit(pages.create), methods=["POST"]),
        Route("/directories/{directory_id:str}", portal.with_visit(pages.show), methods=["GET"]),
        Route(
            "/directories/{directory_id:str}/setup",
            portal.with_visit(pages.setup),
            methods=["GET"],
        ),
        Route(
            "/directories/{directory_id:str}/token",
            portal.with_visit(pages.rotate),
            methods=["POST"],
        ),
        Route(
            "/directories/{directory_id:str}/requests/latest",
            portal.with_visit(pages.latest, touch=False),
            methods=["GET"],
        ),
    ]
