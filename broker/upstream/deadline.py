"""A total deadline and a minimum transfer rate for one request to an IdP.

httpx's timeouts are per operation: a read timeout of 10 s is met by a server that sends one
byte every 9 s, forever. So the outbound guard puts a `Deadline` in a context variable for
the duration of each request, and the connect-time guard's socket wrapper (`DeadlineStream`)
clamps every connect, TLS handshake, write and read to the time that is left, and refuses a
transfer that, once the first byte has arrived, runs slower than the minimum rate. Whatever
the IdP does, one request ends by its deadline: connect + TLS + send + receive.

The deadline travels in a context variable because httpcore pools connections: the socket a
request reads from may have been opened by an earlier one, but the thread reading it is always
the current request's.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import httpcore

#: Once this much of a transfer has passed, its average rate must reach the minimum.
RATE_GRACE_SECONDS = 2.0

Monotonic = Callable[[], float]


class DeadlineExceeded(httpcore.TimeoutException):
    """The request's total deadline passed, or its transfer ran below the minimum rate."""


class Deadline:
    """The time left to one request, and how fast its answer arrives."""

    def __init__(
        self, seconds: float, *, min_bytes_per_second: int, clock: Monotonic = time.monotonic
    ) -> None:
        self._clock = clock
        self.expires_at = clock() + seconds
        self._min_rate = min_bytes_per_second
        self._first_byte_at: float | None = None
        self._received = 0

    def remaining(self) -> float:
        return self.expires_at - self._clock()

    def clamp(self, timeout: float | None) -> float:
        """The timeout for the next socket operation: never past the deadline."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def received(self, count: int) -> None:
        """Account for bytes read; refuse a transfer that trickles (a byte every few
        seconds stays inside any per-read timeout)."""
        now = self._clock()
        if self._first_byte_at is None:
            self._first_byte_at = now
        self._received += count
        elapsed = now - self._first_byte_at
        if elapsed > RATE_GRACE_SECONDS and self._received < self._min_rate * elapsed:
            raise DeadlineExceeded(
                f"the answer arrived at {self._received / elapsed:.0f} bytes/s, under the "
                f"minimum of {self._min_rate}"
            )


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "gatehouse_outbound_deadline", default=None
)


@contextmanager
def deadline_for_request(deadline: Deadline) -> Iterator[Deadline]:
    """Make `deadline` the current request's for the block (set by the outbound guard)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def clamp(timeout: float | None) -> float | None:
    """`timeout` clamped to the current request's deadline, when there is one."""
    deadline = _current.get()
    return timeout if deadline is None else deadline.clamp(timeout)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation ends by the current request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._stream.read(max_bytes, clamp(timeout))
        deadline = _current.get()
        if deadline is not None and data:
            deadline.received(len(data))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def call_within(
    pool: ThreadPoolExecutor, seconds: float | None, func: Callable[[], list[str]]
) -> list[str]:
    """Run a blocking call that has no timeout of its own (the system resolver's
    `getaddrinfo`: a customer's slow DNS) and give up after `seconds`. The call itself
    finishes in the background; the pool's size bounds how many can be stranded."""
    future = pool.submit(contextvars.copy_context().run, func)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout as exc:
        future.cancel()
        raise DeadlineExceeded("name resolution did not finish in time") from exc
