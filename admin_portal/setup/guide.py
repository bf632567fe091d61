"""Step 3: create the application at the IdP, following the guide written for its console,
with this connection's values to paste (copy buttons) and the attributes to send."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.emphasis import emphasize
from admin_portal.guides import Guide, guide_for
from admin_portal.guides.values import AttributeRow, Value, attribute_rows, sp_values
from admin_portal.page_context import Portal, Visit
from admin_portal.setup.flow import nav, page, setup_connection
from broker.model.records import Connection


@dataclass(frozen=True, slots=True)
class GuideStep:
    html: Markup
    values: tuple[Value, ...]
    attributes: bool


@dataclass(frozen=True, slots=True)
class GuidePage:
    guide: Guide
    steps: tuple[GuideStep, ...]
    values: tuple[Value, ...]
    rows: tuple[AttributeRow, ...]
    sources: dict[str, Markup]
    bring_back: tuple[Markup, ...]
    notes: tuple[Markup, ...]
    #: SAML: where the SP metadata is served (also offered as a download).
    metadata_url: str | None


def guide_page(connection: Connection, issuer: str) -> GuidePage:
    """Everything the guide template shows for this connection."""
    guide = guide_for(_strategy(connection), connection.kind)
    values = sp_values(connection, issuer)
    rows = attribute_rows(connection, guide)
    steps = tuple(
        GuideStep(emphasize(s.text), tuple(values[k] for k in s.values), s.attributes)
        for s in guide.steps
    )
    return GuidePage(
        guide=guide,
        steps=steps,
        values=tuple(v for k, v in values.items() if k != "acs_url_pattern"),
        rows=tuple(rows),
        sources={row.claim: emphasize(row.source) for row in rows},
        bring_back=tuple(emphasize(text) for text in guide.bring_back),
        notes=tuple(emphasize(text) for text in guide.notes),
        metadata_url=values["sp_metadata_url"].value if "sp_metadata_url" in values else None,
    )


def _strategy(connection: Connection) -> str | None:
    strategy = connection.config.get("strategy")
    return strategy if isinstance(strategy, str) else None


def routes(portal: Portal) -> list[BaseRoute]:
    async def guide(request: Request, visit: Visit) -> Response:
        connection = setup_connection(portal, visit, str(request.path_params["connection_id"]))
        shown = guide_page(connection, portal.management.deps.issuer)
        return portal.render(
            request, "setup_guide.html",
            {"connection": connection, "page": shown,
             "steps": nav(visit, "guide", connection.id)},
            visit=visit,
        )  # fmt: skip

    return [Route("/setup/{connection_id:str}/guide", page(portal, guide), methods=["GET"])]
