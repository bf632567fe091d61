"""The outbound guard every IdP request goes through (docs/security.md R-10, S-42), against
a real TCP listener on loopback that counts connections: a refusal must mean nothing
connected, not merely that an error came back."""

from __future__ import annotations

import ipaddress
import socketserver
import threading
from collections.abc import Iterator

import httpx
import pytest

from broker.upstream import outbound
from broker.upstream.outbound import OutboundError, OutboundPolicy, make_client

PRODUCTION = OutboundPolicy.for_environment(production=True)
DEVELOPMENT = OutboundPolicy.for_environment(production=False)


class Canary(socketserver.ThreadingTCPServer):
    """Answers every connection with a small HTTP 200 and counts the connections."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CanaryHandler)
        self.connections = 0

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _CanaryHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        assert isinstance(self.server, Canary)
        self.server.connections += 1
        self.request.recv(65536)
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def fetch(url: str, policy: OutboundPolicy, resolver: outbound.Resolver | None = None) -> bytes:
    with make_client(policy, resolver or outbound.system_resolver) as client:
        return outbound.get(client, url, policy=policy, max_bytes=1024)


def test_development_reaches_the_simulator_on_loopback(canary: Canary) -> None:
    assert fetch(f"http://127.0.0.1:{canary.port}/", DEVELOPMENT) == b"ok"
    assert fetch(f"http://localhost:{canary.port}/", DEVELOPMENT) == b"ok"
    assert canary.connections == 2


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"],  # noqa: S104
)
def test_production_never_connects_to_loopback_however_it_is_written(
    canary: Canary, host: str
) -> None:
    with pytest.raises(OutboundError) as refused:
        fetch(f"https://{host}:{canary.port}/", PRODUCTION)
    assert refused.value.kind in ("refused", "unavailable")
    assert canary.connections == 0


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["::ffff:127.0.0.1"], ["93.184.215.14", "127.0.0.1"]]
)
def test_a_name_resolving_to_a_private_address_is_refused_at_connect_time(
    canary: Canary, answer: list[str]
) -> None:
    """DNS rebinding: the guard checks the addresses it is about to connect to, all of them."""
    with pytest.raises(OutboundError) as refused:
        fetch(f"https://rebind.test:{canary.port}/", PRODUCTION, lambda host, port: answer)
    assert refused.value.kind == "refused"
    assert "not a public address" in refused.value.detail
    assert canary.connections == 0


def test_an_operator_listed_network_is_reachable_in_production(canary: Canary) -> None:
    policy = OutboundPolicy(
        allow_http=False, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)
    )
    with pytest.raises(OutboundError) as failed:
        fetch(f"https://idp.internal.test:{canary.port}/", policy, lambda h, p: ["127.0.0.1"])
    assert failed.value.kind == "unavailable"  # it connected; TLS to the canary then failed
    assert canary.connections == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.test/x",
        "file:///etc/passwd",
        "gopher://idp.test/",
        "https://u:p@idp.test/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data",
    ],
)
def test_production_refuses_a_url_before_any_transport_sees_it(url: str) -> None:
    """Checked per URL too, so even a client without the connect-time guard (an injected
    one) never sends these."""
    client = httpx.Client(transport=httpx.MockTransport(lambda r: pytest.fail("sent")))
    with pytest.raises(OutboundError):
        outbound.get(client, url, policy=PRODUCTION, max_bytes=10)


def _routes(routes: dict[str, httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(lambda request: routes[str(request.url)]))


def test_redirects_stay_on_the_same_origin() -> None:
    client = _routes(
        {
            "https://idp.test/a": httpx.Response(302, headers={"location": "/b"}),
            "https://idp.test/b": httpx.Response(200, content=b"found"),
            "https://idp.test/c": httpx.Response(302, headers={"location": "https://evil.test/"}),
            "https://idp.test/d": httpx.Response(302, headers={"location": "http://idp.test/"}),
            "https://idp.test/loop": httpx.Response(302, headers={"location": "/loop"}),
        }
    )
    assert outbound.get(client, "https://idp.test/a", policy=PRODUCTION, max_bytes=10) == b"found"
    for path in ("c", "d"):
        with pytest.raises(OutboundError, match="another site"):
            outbound.get(client, f"https://idp.test/{path}", policy=PRODUCTION, max_bytes=10)
    with pytest.raises(OutboundError, match="too many redirects"):
        outbound.get(client, "https://idp.test/loop", policy=PRODUCTION, max_bytes=10)


def test_a_post_is_never_redirected() -> None:
    client = _routes({"https://idp.test/token": httpx.Response(307, headers={"location": "/x"})})
    with pytest.raises(OutboundError, match="redirect"):
        outbound.post(client, "https://idp.test/token", policy=PRODUCTION, max_bytes=10, data={})


def test_bodies_over_the_cap_are_refused_declared_or_streamed() -> None:
    def stream() -> Iterator[bytes]:
        yield b"x" * 600
        yield b"x" * 600

    client = _routes(
        {
            "https://idp.test/declared": httpx.Response(200, content=b"x" * 2000),
            "https://idp.test/streamed": httpx.Response(200, content=stream()),
        }
    )
    for path in ("declared", "streamed"):
        with pytest.raises(OutboundError, match="larger than 1000"):
            outbound.get(client, f"https://idp.test/{path}", policy=PRODUCTION, max_bytes=1000)


def test_a_server_error_is_unavailability_and_names_no_query() -> None:
    client = _routes({"https://idp.test/x?token=secret": httpx.Response(503)})
    with pytest.raises(OutboundError) as failed:
        outbound.get(client, "https://idp.test/x?token=secret", policy=PRODUCTION, max_bytes=10)
    assert failed.value.kind == "unavailable"
    assert "secret" not in failed.value.detail


@pytest.mark.parametrize("declared", ["²", "9" * 5000, "\u0661\u0662", "-1"])
def test_a_content_length_that_is_not_a_length_is_not_trusted_either_way(declared: str) -> None:
    """An IdP's Content-Length is read as 1*DIGIT or not at all (`²` passed `isdigit()` and
    failed `int()`); without one, the bytes are counted as they come."""
    small = httpx.Response(200, headers=[(b"content-length", declared.encode())], content=b"{}")
    client = _routes({"https://idp.test/small": small})
    assert outbound.get(client, "https://idp.test/small", policy=PRODUCTION, max_bytes=10) == b"{}"


@pytest.mark.parametrize(
    "url",
    [
        "https://xn--.com/token",  # idna: malformed A-label, raised from inside httpx
        "https://xn--zz-zzz.com/token",  # idna: codepoint not allowed
        "https://[idp.test/token",  # urlsplit: invalid IPv6 URL
        "https://idp.test:99999/token",  # urlsplit: port out of range
    ],
)
def test_a_url_no_request_can_be_made_to_is_refused(url: str) -> None:
    """The URLs come from customers' IT admins and from IdPs' discovery documents."""
    client = _routes({})
    for call in (
        lambda: outbound.get(client, url, policy=PRODUCTION, max_bytes=10),
        lambda: outbound.post(client, url, policy=PRODUCTION, max_bytes=10, data={}),
    ):
        with pytest.raises(OutboundError) as refused:
            call()
        assert refused.value.kind == "refused"


def test_a_redirect_to_a_location_that_is_not_a_url_is_refused() -> None:
    client = _routes(
        {"https://idp.test/a": httpx.Response(302, headers={"location": "https://idp.test:99999/"})}
    )
    with pytest.raises(OutboundError, match="another site"):
        outbound.get(client, "https://idp.test/a", policy=PRODUCTION, max_bytes=10)


def _not_resolvable(host: str, port: int) -> list[str]:
    raise OSError("Name or service not known")


@pytest.mark.parametrize(
    "resolver",
    [
        pytest.param(_not_resolvable, id="resolver-error"),
        pytest.param(lambda host, port: [], id="empty-answer"),
        pytest.param(lambda host, port: ["not-an-address"], id="garbage-answer"),
    ],
)
def test_a_name_that_does_not_resolve_is_unavailable(
    canary: Canary, resolver: outbound.Resolver
) -> None:
    with pytest.raises(OutboundError) as failed:
        fetch(f"http://idp.test:{canary.port}/", DEVELOPMENT, resolver)
    assert failed.value.kind == "unavailable"
    assert failed.value.detail == f"cannot reach http://idp.test:{canary.port}/"
    assert canary.connections == 0


def test_each_resolved_address_is_tried_in_turn(canary: Canary) -> None:
    """127.0.0.2 is loopback too, but nothing listens there on the canary's port."""
    answer = ["127.0.0.2", "127.0.0.1"]
    assert fetch(f"http://idp.test:{canary.port}/", DEVELOPMENT, lambda h, p: answer) == b"ok"
    assert canary.connections == 1


def test_when_no_resolved_address_answers_the_idp_is_unavailable(canary: Canary) -> None:
    answer = ["127.0.0.2", "127.0.0.3"]
    with pytest.raises(OutboundError) as failed:
        fetch(f"http://idp.test:{canary.port}/", DEVELOPMENT, lambda h, p: answer)
    assert failed.value.kind == "unavailable"
    assert canary.connections == 0


def test_an_injected_transport_still_stops_reading_at_the_deadline() -> None:
    """A client without the guarded backend (tests, the in-process world) reads the body
    through the same loop, which checks the deadline between chunks."""

    def slow_body() -> Iterator[bytes]:
        yield b"x"
        threading.Event().wait(0.3)
        yield b"y"

    policy = OutboundPolicy.for_environment(production=True, deadline_seconds=0.1)
    client = _routes({"https://idp.test/slow": httpx.Response(200, content=slow_body())})
    with pytest.raises(OutboundError) as late:
        outbound.get(client, "https://idp.test/slow", policy=policy, max_bytes=10)
    assert late.value.kind == "unavailable"
    assert late.value.detail == "https://idp.test/slow did not answer within 0.1 s"


def test_a_webhook_answer_that_drips_past_the_deadline_is_unavailable() -> None:
    """A receiver's answer is read only up to the excerpt, and only within the deadline:
    one that drips a byte at a time is cut off, not waited for."""

    def dripping() -> Iterator[bytes]:
        yield b"o"
        threading.Event().wait(0.3)
        yield b"k"

    policy = OutboundPolicy.for_environment(production=True, deadline_seconds=0.1)
    client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=dripping()))
    )
    with pytest.raises(OutboundError) as late:
        outbound.post_content(client, "https://app.test/hook", policy=policy, content=b"{}",
                              headers={}, excerpt_bytes=1024)  # fmt: skip
    assert late.value.kind == "unavailable"
