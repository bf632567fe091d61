"""`/organizations/{id}/connections`: SAML and OIDC connections: create, list, read,
update, activate, deactivate, delete. Each handler maps the request onto one use case of
`broker.management.connections` and its public view onto the response model."""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ValidationError

from broker.management import Management, pagination
from broker.management.api.common import ListQuery, list_query
from broker.management.api.connection_models import (
    ConnectionCreate,
    ConnectionList,
    ConnectionOut,
    ConnectionUpdate,
    OidcSettingsUpdate,
    SamlConnectionCreate,
    SamlSettingsIn,
)
from broker.management.api.operations import Call, Operation, Reply
from broker.management.api.problems import from_validation_error
from broker.management.connection_view import ConnectionView
from broker.model.records import Connection
from broker.upstream.saml.config import SamlConnectionConfig

TAG = "Connections"


def connection_out(view: ConnectionView) -> ConnectionOut:
    return ConnectionOut.model_validate(asdict(view))


def _given(settings: BaseModel) -> dict[str, object]:
    """What the request set, secrets apart: an absent field keeps its value, a null one
    goes back to its default."""
    return settings.model_dump(exclude_unset=True, exclude={"client_secret"})


def _secret(settings: BaseModel) -> str | None:
    if isinstance(settings, OidcSettingsUpdate) and settings.client_secret is not None:
        return settings.client_secret.get_secret_value()
    return None


def _settings_for(connection: Connection, raw: object) -> BaseModel:
    model = SamlSettingsIn if connection.kind == SamlConnectionConfig.kind else OidcSettingsUpdate
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, prefix="/settings") from exc


def operations(management: Management) -> list[Operation]:
    connections = management.connections

    def out(connection: Connection, warnings: tuple[str, ...] = ()) -> ConnectionOut:
        return connection_out(connections.describe(connection, warnings))

    def create(call: Call) -> Reply:
        assert isinstance(call.body, ConnectionCreate)
        request, org = call.body.root, call.path["organization_id"]
        actor, settings = call.principal.actor, _given(request.settings)
        if isinstance(request, SamlConnectionCreate):
            saved = connections.create_saml(
                actor, org, settings, name=request.name, active=request.active
            )
        else:
            saved = connections.create_oidc(
                actor, org, settings, client_secret=_secret(request.settings),
                name=request.name, active=request.active,
            )  # fmt: skip
        location = f"/api/v1/organizations/{org}/connections/{saved.connection.id}"
        return Reply(201, out(saved.connection, saved.warnings), location=location)

    def list_all(call: Call) -> Reply:
        query, org = list_query(call), call.path["organization_id"]
        page = pagination.read_page(
            query.cursor,
            query.limit,
            lambda after, limit: connections.page(org, after=after, limit=limit),
            lambda c: (c.created_at, c.id),
        )
        items = [out(c) for c in page.items]
        return Reply(body=ConnectionList(items=items, next_cursor=page.next_cursor))

    def get(call: Call) -> Reply:
        found = connections.get(call.path["organization_id"], call.path["connection_id"])
        return Reply(body=out(found))

    def update(call: Call) -> Reply:
        assert isinstance(call.body, ConnectionUpdate)
        org, cid = call.path["organization_id"], call.path["connection_id"]
        settings, secret = None, None
        raw: object = call.body.settings  # not validated yet: it depends on the type
        if raw is not None:
            parsed = _settings_for(connections.get(org, cid), raw)
            settings, secret = _given(parsed), _secret(parsed)
        saved = connections.update(
            call.principal.actor, org, cid, name=call.body.name, settings=settings,
            client_secret=secret,
        )  # fmt: skip
        return Reply(body=out(saved.connection, saved.warnings))

    def activate(call: Call) -> Reply:
        org, cid = call.path["organization_id"], call.path["connection_id"]
        return Reply(body=out(connections.activate(call.principal.actor, org, cid)))

    def deactivate(call: Call) -> Reply:
        org, cid = call.path["organization_id"], call.path["connection_id"]
        return Reply(body=out(connections.deactivate(call.principal.actor, org, cid)))

    def delete(call: Call) -> Reply:
        org, cid = call.path["organization_id"], call.path["connection_id"]
        connections.delete(call.principal.actor, org, cid)
        return Reply(204)

    read, write = "connections:read", "connections:write"
    collection = "/organizations/{organization_id}/connections"
    item = collection + "/{connection_id}"
    return [
        Operation(method="POST", path=collection, operation_id="createConnection",
                  summary="Create a SAML or OIDC connection", tag=TAG, scope=write,
                  handler=create, body=ConnectionCreate, response=ConnectionOut, status=201,
                  errors=(404, 409), idempotent_post=True,
                  description="SAML from the IdP's metadata (URL or document) or its values; "
                  "OIDC from the issuer, whose discovery document is checked first. The "
                  "answer carries what the IdP admin needs (ACS URL, SP entity ID, SP "
                  "metadata URL; or the redirect URI). Secrets are never returned."),
        Operation(method="GET", path=collection, operation_id="listConnections",
                  summary="The organization's connections, oldest first", tag=TAG,
                  scope=read, handler=list_all, query=ListQuery, response=ConnectionList),
        Operation(method="GET", path=item, operation_id="getConnection",
                  summary="Read a connection", tag=TAG, scope=read, handler=get,
                  response=ConnectionOut),
        Operation(method="PATCH", path=item, operation_id="updateConnection",
                  summary="Rename, or change settings (new metadata, certificates, secret)",
                  tag=TAG, scope=write, handler=update, body=ConnectionUpdate,
                  response=ConnectionOut, errors=(404, 409),
                  description="`settings` takes the fields of the connection's own type; "
                  "an absent field is kept, a null one goes back to its default. A change "
                  "made meanwhile by someone else answers 409."),
        Operation(method="POST", path=item + "/activate", operation_id="activateConnection",
                  summary="Route logins to it", tag=TAG, scope=write, handler=activate,
                  response=ConnectionOut, errors=(404, 409)),
        Operation(method="POST", path=item + "/deactivate",
                  operation_id="deactivateConnection",
                  summary="Stop routing logins to it; settings are kept", tag=TAG,
                  scope=write, handler=deactivate, response=ConnectionOut, errors=(404, 409)),
        Operation(method="DELETE", path=item, operation_id="deleteConnection",
                  summary="Delete it and the identities that logged in through it", tag=TAG,
                  scope=write, handler=delete, status=204),
    ]  # fmt: skip
