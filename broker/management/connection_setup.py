"""Setting a connection up from the admin portal, step by step.

The IdP admin needs Gatehouse's values (ACS URL, SP entity ID, SP metadata, redirect URI)
before they can give theirs, and those values are per connection (S-19). So the connection
exists from the moment the IdP is chosen: inactive, with its SP keys and the vendor's
defaults but no IdP values. Until the IdP values are given its settings do not parse, so
nothing can route to it or activate it, while its SP metadata is already published.

    begin(strategy, protocol)  -> an inactive connection waiting for the IdP's values
                                  (`awaiting_idp`)
    (the IdP values)           -> Connections.update, the same parse as every other door
    activate_tested(...)       -> on, only after a passed test of exactly its settings and
                                  with a verified domain
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from broker.management import scoped
from broker.management.connections import Connections
from broker.management.deps import ManagementDeps, record
from broker.management.errors import InvalidInput, ResourceConflict, ResourceNotFound
from broker.model.opaque import new_id
from broker.model.portal import config_digest
from broker.model.records import Connection
from broker.model.vendors import PRODUCTS
from broker.store import NotFound
from broker.upstream.config_fields import STANDARD_CLAIMS
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.saml.config import SamlConnectionConfig
from broker.upstream.saml.setup import new_sp_key_pair


def protocols(strategy: str) -> tuple[str, ...]:
    """The protocols a product's tile offers, SAML first."""
    found = []
    product = PRODUCTS.get(strategy)
    if product is not None and product.saml:
        found.append(SamlConnectionConfig.kind)
    if product is not None and product.oidc:
        found.append(OidcConnectionConfig.kind)
    return tuple(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class Readiness:
    """What activation still needs, for the page that offers it."""

    tested: bool
    verified_domains: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return self.tested and bool(self.verified_domains)


class ConnectionSetup:
    def __init__(self, deps: ManagementDeps, connections: Connections) -> None:
        self._deps = deps
        self._connections = connections

    def begin(
        self,
        actor: str,
        organization_id: str,
        *,
        strategy: str,
        protocol: str,
        offered: Sequence[str],
        required_claims: Sequence[str] = ("email",),
    ) -> Connection:
        """`offered`: the strategies the portal link's profile allows (all without one)."""
        if strategy not in offered or protocol not in protocols(strategy):
            raise InvalidInput.at("/strategy", "not an identity provider offered here")
        claims = [claim for claim in required_claims if claim in STANDARD_CLAIMS] or ["email"]
        connection_id = new_id("con")
        config: dict[str, object] = {"strategy": strategy, "required_claims": claims}
        if protocol == SamlConnectionConfig.kind:
            config["attribute_profile"] = PRODUCTS[strategy].saml_profile
            for purpose in ("signing", "encryption"):
                config[f"sp_{purpose}"] = new_sp_key_pair(
                    self._deps.secrets, connection_id, purpose,
                    common_name=f"Gatehouse SP {connection_id} {purpose}",
                    now=self._deps.clock.now(),
                )  # fmt: skip
        else:
            config["vendor"] = PRODUCTS[strategy].oidc_vendor
        suffix = " (SAML)" if protocol == SamlConnectionConfig.kind else " (OIDC)"
        connection = Connection(
            id=connection_id,
            organization_id=organization_id,
            kind=protocol,
            name=PRODUCTS[strategy].name + ("" if PRODUCTS[strategy].generic else suffix),
            config=config,
            active=False,
            created_at=self._deps.clock.now(),
        )
        with self._deps.store.unit_of_work() as uow:
            scoped.organization(uow, organization_id)
            try:
                uow.connections.add(connection)
            except NotFound as exc:
                raise ResourceNotFound(f"organization {organization_id}") from exc
            record(uow, self._deps, "connection.created", actor=actor,
                   organization_id=organization_id, connection_id=connection_id,
                   type=protocol, name=connection.name, strategy=strategy)  # fmt: skip
        return connection

    def readiness(self, organization_id: str, connection: Connection) -> Readiness:
        with self._deps.store.unit_of_work() as uow:
            tested = uow.connection_tests.passed(
                organization_id, connection.id, config_digest(connection.config)
            )
            domains = uow.domains.for_organization(organization_id)
        verified = tuple(sorted(d.name for d in domains if d.is_verified))
        return Readiness(tested=tested, verified_domains=verified)

    def activate_tested(self, actor: str, organization_id: str, connection_id: str) -> Connection:
        """What the portal's "turn on" does: a login test of exactly the stored settings
        must have passed (settings changed since are tested again), and at least one email
        domain must be verified, or no login could be routed to the connection."""
        current = self._connections.get(organization_id, connection_id)
        if current.active:
            return current
        readiness = self.readiness(organization_id, current)
        if not readiness.tested:
            raise ResourceConflict("test a login with these settings first; it must pass")
        if not readiness.verified_domains:
            raise ResourceConflict("verify at least one of your email domains first")
        return self._connections.activate(
            actor, organization_id, connection_id, expected_version=current.version
        )
