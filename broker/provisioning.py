"""Creating connections: the one path the CLI, the demo and (later) the management API and
the portal share, so keys are generated, secrets encrypted and settings checked the same way
everywhere."""

from __future__ import annotations

from dataclasses import dataclass, replace

from broker.app import Broker
from broker.domain.model import Connection
from broker.domain.opaque import new_id
from broker.errors import ConfigError
from broker.store import NotFound
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.oidc.setup import check_provider, new_oidc_config
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.idp_metadata import IdpMetadata, fetch_idp_metadata, parse_idp_metadata
from broker.upstream.saml.setup import new_saml_config
from broker.upstream.urls import ConnectionEndpoints, endpoints_for


@dataclass(frozen=True, slots=True)
class CreatedConnection:
    connection: Connection
    endpoints: ConnectionEndpoints
    warnings: tuple[str, ...]


def read_idp_metadata(
    broker: Broker, *, url: str | None = None, document: bytes | None = None
) -> IdpMetadata:
    if url is not None:
        document = fetch_idp_metadata(url, broker.http, policy=broker.outbound)
    if document is None:
        raise ConfigError("metadata", "give a metadata URL or file")
    return parse_idp_metadata(document)


def create_saml_connection(
    broker: Broker,
    *,
    organization_id: str,
    idp: IdpMetadata,
    name: str | None = None,
    options: dict[str, object] | None = None,
) -> CreatedConnection:
    if broker.settings.is_production and not idp.sso_url.startswith("https://"):
        raise ConfigError("sso_url", "must be https")
    connection_id = new_id("con")
    endpoints = endpoints_for(broker.settings.issuer, connection_id, SamlConnectionConfig.kind)
    now = broker.clock.now()
    config = new_saml_config(idp, box=broker.secrets, endpoints=endpoints, now=now, options=options)
    connection = Connection(
        id=connection_id,
        organization_id=organization_id,
        kind=SamlConnectionConfig.kind,
        name=name or f"SAML: {idp.entity_id}",
        config=config,
        created_at=now,
    )
    _add(broker, connection)
    warnings = SamlConnectionConfig.parse(config).warnings() + idp.warnings
    return CreatedConnection(connection=connection, endpoints=endpoints, warnings=warnings)


def create_oidc_connection(
    broker: Broker,
    *,
    organization_id: str,
    options: dict[str, object],
    client_secret: str | None,
    name: str | None = None,
) -> CreatedConnection:
    """`options`: issuer, client_id and any other OIDC setting. The IdP's discovery document
    is fetched and checked before anything is stored (unless endpoints are given by hand)."""
    connection_id = new_id("con")
    endpoints = endpoints_for(broker.settings.issuer, connection_id, OidcConnectionConfig.kind)
    config = new_oidc_config(
        options, box=broker.secrets, connection_id=connection_id, client_secret=client_secret
    )
    parsed = OidcConnectionConfig.parse(config)
    checked = check_provider(parsed, broker.http, policy=broker.outbound)
    connection = Connection(
        id=connection_id,
        organization_id=organization_id,
        kind=OidcConnectionConfig.kind,
        name=name or f"OIDC: {parsed.issuer}",
        config=config,
        created_at=broker.clock.now(),
    )
    _add(broker, connection)
    return CreatedConnection(
        connection=connection,
        endpoints=endpoints,
        warnings=parsed.warnings() + checked.warnings,
    )


def update_oidc_connection(
    broker: Broker,
    connection: Connection,
    *,
    options: dict[str, object],
    client_secret: str | None,
) -> Connection:
    """Replace an OIDC connection's settings (checked against the IdP as on creation), with
    compare-and-swap on its version; the next login reopens the connector."""
    config = new_oidc_config(
        options, box=broker.secrets, connection_id=connection.id, client_secret=client_secret
    )
    check_provider(OidcConnectionConfig.parse(config), broker.http, policy=broker.outbound)
    with broker.store.unit_of_work() as uow:
        return uow.connections.save(
            replace(connection, config=config), expected_version=connection.version
        )


def _add(broker: Broker, connection: Connection) -> None:
    with broker.store.unit_of_work() as uow:
        try:
            uow.organizations.get(connection.organization_id)
        except NotFound as exc:
            raise ConfigError("org", f"no organization {connection.organization_id}") from exc
        uow.connections.add(connection)


def update_saml_idp(broker: Broker, connection: Connection, idp: IdpMetadata) -> Connection:
    """Take new IdP metadata (a certificate rollover, a moved SSO URL) into an existing
    connection, keeping its SP keys, with compare-and-swap on its version."""
    current = SamlConnectionConfig.parse(connection.config).to_json()
    changed = {
        **current,
        "idp_entity_id": idp.entity_id,
        "sso_url": idp.sso_url,
        "sso_binding": idp.sso_binding,
        "idp_certificates": list(idp.certificates),
    }
    if changed == current:
        return connection
    config = SamlConnectionConfig.parse(changed).to_json()
    with broker.store.unit_of_work() as uow:
        return uow.connections.save(
            replace(connection, config=config), expected_version=connection.version
        )
