"""The domains step (when the link grants `domain_verification`): claim an email domain,
publish the TXT record, and "check now". Claims and their state live in the database, so an
admin who publishes the record today can come back with the same link and check tomorrow.

    GET  /domains                 the organization's domains, each with its record or state
    POST /domains                 claim a domain (form: name)
    POST /domains/{name}/check    look the record up now (Domains.verify) and say what we found

A `connection` query or form value only keeps the setup assistant's step indicator (and its
way back) on the page; it is read through `Portal.connection` like any id from a request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from admin_portal.page_context import Portal, Visit
from admin_portal.setup.field_errors import NO_ERRORS, FormErrors, form_errors, sentence
from admin_portal.setup.flow import NavStep, nav
from broker.management.domains import DnsRecord, Verification, dns_record
from broker.management.errors import InvalidInput, ResourceConflict
from broker.model.records import Domain
from broker.workers import run_in_threadpool

log = logging.getLogger(__name__)
MAX_DOMAINS = 100


@dataclass(frozen=True, slots=True)
class DomainRow:
    name: str
    verified: bool
    record: DnsRecord | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What "check now" found, in words: `ok` says whether it is good news."""

    ok: bool
    message: str


def outcome(verification: Verification) -> Outcome:
    name = verification.domain.name
    record = dns_record(verification.domain)
    where = record.name if record else name
    messages = {
        None: f"{name} is verified. People with an @{name} address can sign in through your "
        "identity provider once single sign-on is on.",
        "record_not_found": f"There is no TXT record at {where} yet. DNS changes can take "
        "from a few minutes to a few hours to appear: check again later. If your DNS "
        f"console adds {name} to the names you type, the name there must be "
        f"{record.host if record else where} alone, or the record ends up at "
        f"{where}.{name}.",
        "value_mismatch": f"There is a TXT record at {where}, but not with the value shown "
        f"here ({verification.detail}). Publish the value exactly as shown, then check again.",
        "timeout": "The DNS lookup did not get an answer in time. Check again in a minute.",
        "resolver_error": "The DNS lookup failed. Check again in a few minutes; if it keeps "
        "failing, send the reference at the bottom of this page to the person who sent the "
        "link.",
        "verified_by_another_organization": f"{name} is already verified by another "
        "organization. Ask the person who sent you the link.",
    }
    fallback = f"{name} could not be verified ({verification.failure})."
    return Outcome(
        ok=verification.failure is None,
        message=messages.get(verification.failure, fallback),
    )


def rows(domains: list[Domain]) -> list[DomainRow]:
    return [DomainRow(d.name, d.is_verified, dns_record(d)) for d in domains]


def routes(portal: Portal) -> list[BaseRoute]:
    def context_connection(visit: Visit, source: Mapping[str, Any]) -> str | None:
        """The setup assistant's connection, when the page was opened from it."""
        connection_id = source.get("connection")
        if not isinstance(connection_id, str) or not connection_id or not visit.has("sso"):
            return None
        return portal.connection(visit, connection_id).id

    def render(
        request: Request,
        visit: Visit,
        connection_id: str | None,
        *,
        errors: FormErrors = NO_ERRORS,
        typed: str = "",
        result: Outcome | None = None,
        status: int = 200,
    ) -> Response:
        found = portal.management.domains.page(visit.organization.id, after=None, limit=MAX_DOMAINS)
        steps: list[NavStep] = nav(visit, "domains", connection_id) if visit.has("sso") else []
        return portal.render(
            request, "domains.html",
            {"domains": rows(found), "errors": errors, "typed": typed, "result": result,
             "connection_id": connection_id, "steps": steps},
            visit=visit, status=status,
        )  # fmt: skip

    async def show(request: Request, visit: Visit) -> Response:
        visit.require("domain_verification")
        return render(request, visit, context_connection(visit, request.query_params))

    async def add(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        visit.require("domain_verification")
        connection_id = context_connection(visit, form)
        raw = form.get("name")
        name = raw.strip() if isinstance(raw, str) else ""
        try:
            await run_in_threadpool(
                portal.management.domains.add, visit.actor, visit.organization.id, name
            )
        except (InvalidInput, ResourceConflict) as exc:
            log.info("portal domain refused org=%s: %s", visit.organization.id, exc)
            errors = (
                form_errors(exc)
                if isinstance(exc, InvalidInput)
                else FormErrors({"name": sentence(exc.detail)})
            )
            status = 422 if isinstance(exc, InvalidInput) else 409
            return render(request, visit, connection_id, errors=errors, typed=name, status=status)
        suffix = f"?connection={connection_id}" if connection_id else ""
        return portal.redirect(f"/domains{suffix}")

    async def check(request: Request, visit: Visit) -> Response:
        form = await portal.form(request, visit)
        visit.require("domain_verification")
        connection_id = context_connection(visit, form)
        verification = await run_in_threadpool(
            portal.management.domains.verify,
            visit.actor, visit.organization.id, str(request.path_params["name"]),
        )  # fmt: skip
        return render(request, visit, connection_id, result=outcome(verification))

    return [
        Route("/domains", portal.with_visit(show), methods=["GET"]),
        Route("/domains", portal.with_visit(add), methods=["POST"]),
        Route("/domains/{name:str}/check", portal.with_visit(check), methods=["POST"]),
    ]
