"""TLS trust toward on-premises IdPs (docs/security.md X-07), over real TLS on loopback: the
IdP simulator behind a certificate a private CA issued. Trusted by the deployment's CAs for
every request, by a connection's own CA bundle for that connection's requests only; one
tenant's CA never lets it impersonate another tenant's IdP host."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from broker.clock import FixedClock
from broker.http import Redirect
from broker.keys.crypto import SecretBox
from broker.upstream import outbound
from broker.upstream.base import ConnectorDeps, FlowContext, UpstreamUnavailable
from broker.upstream.oidc.config import OidcConnectionConfig
from broker.upstream.outbound import (
    LOOPBACK_NETWORKS,
    OutboundError,
    OutboundPolicy,
    make_client,
)
from broker.upstream.trust import TRUST_EXTENSION, TrustRouter
from broker.upstream.urls import endpoints_for
from tests.support.config import ISSUER, TEST_SECRET_KEY
from tests.support.connection_configs import new_oidc_config
from tests.support.private_ca import (
    CLIENT_ID,
    CLIENT_SECRET,
    OnPremisesIdp,
    PrivateCa,
    on_premises_idp,
    private_ca,
)
from tests.support.saml_golden import MemoryReplays

#: Production rules, with loopback listed as the operator lists an on-premises network.
ON_PREMISES = OutboundPolicy(allowed_networks=LOOPBACK_NETWORKS)
UNKNOWN_ISSUER = (
    "the TLS certificate of localhost is not trusted (unable to get local issuer "
    "certificate): if your organization's own certificate authority issued it, give that "
    "CA's certificate as the connection's CA bundle"
)


def discovery(company_idp: OnPremisesIdp, http: httpx.Client, policy: OutboundPolicy) -> str:
    """The issuer the IdP's discovery document names."""
    url = f"{company_idp.issuer}/.well-known/openid-configuration"
    issuer: str = json.loads(outbound.get(http, url, policy=policy, max_bytes=65536))["issuer"]
    return issuer


def test_a_certificate_from_a_private_ca_is_refused_with_a_sentence_saying_so(
    company_idp: OnPremisesIdp,
) -> None:
    with make_client(ON_PREMISES) as http, pytest.raises(OutboundError) as refused:
        discovery(company_idp, http, ON_PREMISES)
    assert (refused.value.kind, refused.value.detail) == ("unavailable", UNKNOWN_ISSUER)


def test_the_deployments_cas_are_trusted_by_every_request(
    company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """GATEHOUSE_UPSTREAM_CA_FILE, as the composition root passes it."""
    policy = OutboundPolicy.for_environment(
        production=True, extra_networks=LOOPBACK_NETWORKS, ca_certificates=[company_ca.pem]
    )
    with make_client(policy) as http:
        assert discovery(company_idp, http, policy) == company_idp.issuer
        # Beside the public CAs, not instead of them: a connection adding its own keeps both.
        assert (
            discovery(company_idp, http, policy.trusting([private_ca("Other").pem]))
            == company_idp.issuer
        )


def test_one_tenants_ca_is_trusted_for_its_own_connection_and_no_other(
    company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """The IdP's certificate stands for one issued by tenant A's CA to impersonate the host
    of tenant B's IdP. B's requests refuse it, whatever B trusts, even right after A's
    request kept a verified connection to the same host alive in the client."""
    tenant_a = ON_PREMISES.trusting([company_ca.pem])
    tenant_b = ON_PREMISES.trusting([private_ca("Tenant B Root CA").pem])
    with make_client(ON_PREMISES) as http:
        assert discovery(company_idp, http, tenant_a) == company_idp.issuer
        for policy in (tenant_b, ON_PREMISES):
            with pytest.raises(OutboundError) as refused:
                discovery(company_idp, http, policy)
            assert refused.value.detail == UNKNOWN_ISSUER
        assert discovery(company_idp, http, tenant_a) == company_idp.issuer


def test_a_login_of_a_connection_without_the_bundle_is_refused(
    company_idp: OnPremisesIdp, company_ca: PrivateCa
) -> None:
    """Two opened OIDC connectors sharing the broker's client, to the same on-premises IdP:
    only the one whose connection carries the CA bundle reads the discovery document."""
    box = SecretBox(TEST_SECRET_KEY)
    with make_client(ON_PREMISES) as http:
        deps = ConnectorDeps(
            http=http, clock=FixedClock(), secrets=box, replays=MemoryReplays(),
            outbound=ON_PREMISES,
        )  # fmt: skip

        def begin(connection_id: str, **options: object) -> str:
            raw = new_oidc_config(
                {"issuer": company_idp.issuer, "client_id": CLIENT_ID, **options},
                box=box, connection_id=connection_id, client_secret=CLIENT_SECRET,
            )  # fmt: skip
            connector = OidcConnectionConfig.parse(raw).open(
                deps, endpoints_for(ISSUER, connection_id, "oidc")
            )
            flow = FlowContext(flow_id="f", connection_id=connection_id, callback_url="x")
            action = connector.begin_login(flow).action
            assert isinstance(action, Redirect)
            return action.location

        assert begin("con_trusting", ca_bundle=company_ca.pem).startswith(
            f"{company_idp.issuer}/authorize?"
        )
        with pytest.raises(UpstreamUnavailable) as refused:
            begin("con_other")
    assert refused.value.detail == UNKNOWN_ISSUER
    assert refused.value.facts["problem"] == UNKNOWN_ISSUER  # what the portal's test shows


def test_a_certificate_for_another_host_is_refused_without_the_ca_hint(
    company_ca: PrivateCa, tmp_path: Path
) -> None:
    with on_premises_idp(
        company_ca, tmp_path, broker_issuer=ISSUER, hosts=("idp.other.test",)
    ) as company_idp:
        policy = ON_PREMISES.trusting([company_ca.pem])
        with make_client(policy) as http, pytest.raises(OutboundError) as refused:
            discovery(company_idp, http, policy)
    assert refused.value.detail == (
        "the TLS certificate of localhost is not trusted (Hostname mismatch, certificate is "
        "not valid for 'localhost'.)"
    )


# -- the router: one SSL context and one pool per distinct set of CAs ---------------------


class Recording(httpx.BaseTransport):
    """A transport that answers 200 and says whether it was closed."""

    def __init__(self, context: object) -> None:
        self.context = context
        self.requests = 0
        self.closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(200, content=b"ok")

    def close(self) -> None:
        self.closed = True


def send(router: TrustRouter, trusted: tuple[str, ...]) -> None:
    request = httpx.Request("GET", "https://idp.test/", extensions={TRUST_EXTENSION: trusted})
    assert router.handle_request(request).status_code == 200


def test_each_distinct_set_of_cas_gets_one_context_built_once() -> None:
    built: list[Recording] = []

    def transport_for(context: object) -> Recording:
        built.append(Recording(context))
        return built[-1]

    a, b = private_ca("A").pem, private_ca("B").pem
    router = TrustRouter(transport_for)
    with httpx.Client(transport=router) as http:
        for trusted in ((), (a,), (a,), (a, b), (), (a,)):
            policy = OutboundPolicy(ca_certificates=trusted)
            assert outbound.get(http, "https://idp.test/", policy=policy, max_bytes=10) == b"ok"
    assert [t.requests for t in built] == [2, 3, 1]
    public, with_a, with_both = (len(t.context.get_ca_certs()) for t in built)  # type: ignore[attr-defined]
    assert public > 100  # certifi's
    assert (with_a, with_both) == (public + 1, public + 2)
    assert all(t.closed for t in built)  # the client closed them all


def test_past_its_bound_a_transport_is_closed_once_no_request_can_still_use_it() -> None:
    now = [0.0]
    built: list[Recording] = []

    def transport_for(context: object) -> Recording:
        built.append(Recording(context))
        return built[-1]

    a, b, c, d = ((private_ca(n).pem,) for n in "ABCD")
    router = TrustRouter(transport_for, max_transports=2, clock=lambda: now[0])
    send(router, a)
    send(router, b)
    send(router, c)  # a evicted at 0 s: a request that picked it may still be running
    now[0] = 59.0
    send(router, d)  # b evicted at 59 s
    assert [t.closed for t in built] == [False] * 4
    now[0] = 60.0
    send(router, a)  # built anew, c evicted; the first transport for a is closed now
    assert [t.closed for t in built] == [True, False, False, False, False]
    router.close()
    assert [t.closed for t in built] == [True] * 5


def test_two_threads_building_the_same_transport_keep_one() -> None:
    meeting = threading.Barrier(2, timeout=10)
    built: list[Recording] = []

    def transport_for(context: object) -> Recording:
        transport = Recording(context)
        built.append(transport)
        meeting.wait()  # both threads are building at once
        return transport

    router = TrustRouter(transport_for)
    trusted = (private_ca().pem,)
    threads = [threading.Thread(target=send, args=(router, trusted)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(built) == 2
    assert sorted(t.closed for t in built) == [False, True]  # the spare, never used
    kept = next(t for t in built if not t.closed)
    assert kept.requests == 2
    send(router, trusted)
    assert (len(built), kept.requests) == (2, 3)
