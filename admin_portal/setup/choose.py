"""Step 2: choose the identity provider. One tile per product the link's self-service
profile allows (all of them without a profile), one button per protocol it speaks.

Choosing begins the connection (`ConnectionSetup.begin`): it exists from then on, inactive,
with its own SP values, so the guide can show them and the admin can come back later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import FeatureNotGranted, Portal, Visit
from admin_portal.setup.field_errors import FORM, NO_ERRORS, FormErrors
from admin_portal.setup.flow import nav, page
from broker.management.connection_setup import protocols
from broker.management.errors import InvalidInput
from broker.model.vendors import CATALOGUE, STRATEGIES
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)

PROTOCOL_NAMES = {"saml": "SAML", "oidc": "OpenID Connect"}
#: A tile's heading: the generic tiles name what they are for.
TILE_NAMES = {
    **{product.strategy: product.name for product in CATALOGUE},
    "generic-saml": "Another SAML identity provider",
    "generic-oidc": "Another OpenID Connect provider",
}


@dataclass(frozen=True, slots=True)
class Tile:
    strategy: str
    product: str
    #: (protocol, its name), SAML first.
    protocols: tuple[tuple[str, str], ...]


def offered(visit: Visit) -> tuple[str, ...]:
    """The strategies this link's profile allows, in the product order of STRATEGIES."""
    allowed = visit.profile.allowed_strategies if visit.profile else STRATEGIES
    return tuple(s for s in STRATEGIES if s in allowed)


def tiles(visit: Visit) -> list[Tile]:
    return [
        Tile(s, TILE_NAMES[s], tuple((p, PROTOCOL_NAMES[p]) for p in protocols(s)))
        for s in offered(visit)
    ]


def required_attributes(visit: Visit) -> tuple[str, ...]:
    """The profile's required attributes, the email always first: the login needs it."""
    profile = visit.profile
    names = [a.name for a in profile.user_attributes if a.required] if profile else []
    return ("email", *[n for n in names if n != "email"])


def _new_connection_allowed(visit: Visit) -> None:
    visit.require("sso")
    if visit.session.connection_id is not None:
        # An edit link is for its one connection: it starts no other.
        raise FeatureNotGranted("new connection")


def routes(portal: Portal) -> list[BaseRoute]:
    def render(request: Request, visit: Visit, errors: FormErrors, status: int) -> Response:
        return portal.render(
            request, "setup_choose.html",
            {"tiles": tiles(visit), "errors": errors, "steps": nav(visit, "choose", None)},
            visit=visit, status=status,
        )  # fmt: skip

    async def choose(request: Request, visit: Visit) -> Response:
        _new_connection_allowed(visit)
        return render(request, visit, NO_ERRORS, 200)

    async def begin(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        _new_connection_allowed(visit)
        choice = form.get("choice")
        strategy, _, protocol = (choice if isinstance(choice, str) else "").partition(":")
        try:
            connection = await run_in_threadpool(
                portal.management.connection_setup.begin,
                visit.actor, visit.organization.id, strategy=strategy, protocol=protocol,
                offered=offered(visit), required_claims=required_attributes(visit),
            )  # fmt: skip
        except InvalidInput as exc:  # the only refusal: a tile this link does not offer
            log.info("portal begin refused org=%s: %s", visit.organization.id, exc)
            errors = FormErrors({FORM: "Choose one of the identity providers listed here."})
            return render(request, visit, errors, 422)
        return portal.redirect(f"/setup/{connection.id}/guide")

    return [
        Route("/setup", page(portal, choose), methods=["GET"]),
        Route("/setup/begin", page(portal, begin), methods=["POST"]),
    ]
