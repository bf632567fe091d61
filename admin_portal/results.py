"""A test login's result page: what the IdP sent, the mapped profile, a tick or cross per
required attribute, and when it failed, the diagnosis (diagnosis/).

GET /tests/{test_id}   where the broker sends the browser when the IdP's answer is checked

The result holds the IdP's decoded answer, so only a session of the organization that ran
the test reads it (and an edit link only its own connection's): any other id is "not
found", exactly as an absent one (T-04, X-03).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal import diagnosis
from admin_portal.emphasis import emphasize
from admin_portal.page_context import Portal, Visit
from admin_portal.trial_logins import idp_urls
from broker.model.portal import ConnectionTest
from broker.model.records import Connection
from broker.upstream.urls import endpoints_for


def routes(portal: Portal) -> list[BaseRoute]:
    async def result(request: Request, visit: Visit) -> Response:
        visit.require("sso")
        test_id = str(request.path_params["test_id"])
        test = portal.management.connection_tests.get(visit.organization.id, test_id)
        # Scoped again through the connection: an edit link sees its own connection's tests.
        connection = portal.connection(visit, test.connection_id)
        issuer = portal.management.deps.issuer
        context = result_context(test, connection, gatehouse_values(issuer, connection))
        # "Run the test again" is a test form: its answer hands the browser to the IdP.
        return portal.render(
            request, "test_result.html", context, visit=visit, form_targets=idp_urls(connection)
        )

    return [Route("/tests/{test_id:str}", portal.with_visit(result), methods=["GET"])]


def gatehouse_values(issuer: str, connection: Connection) -> dict[str, str]:
    """The values the IdP admin pastes at their IdP, for fixes that say what to paste."""
    endpoints = endpoints_for(issuer, connection.id, connection.kind)
    values = {"issuer": str(connection.config.get("issuer") or "")}
    if connection.kind == "saml":
        values |= {"acs_url": endpoints.callback_url, "sp_entity_id": endpoints.entity_id}
    else:
        values |= {"redirect_uri": endpoints.callback_url}
    return values


def result_context(
    test: ConnectionTest, connection: Connection, values: Mapping[str, str]
) -> dict[str, Any]:
    strategy = connection.config.get("strategy")
    found = diagnosis.diagnose(
        test,
        protocol=connection.kind,
        strategy=strategy if isinstance(strategy, str) else None,
        values=values,
    )
    return {
        "test": test,
        "connection": connection,
        "diagnosis": found,
        "checks": diagnosis.attribute_checks(test),
        "profile": diagnosis.profile(test),
        "evidence": diagnosis.evidence(test),
        "emphasize": emphasize,
        "protocol": test.report.get("protocol") or connection.kind,
    }
