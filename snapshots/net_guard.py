"""The network edge of the fetcher: which URLs and addresses we may reach, and how.

Documents are added by admins and redirects are chosen by remote servers, so every
hop could point at our own infrastructure (Redis, PostgreSQL, a cloud metadata
endpoint). The guard has two layers:

- `check_url` and `resolve_permitted` refuse bad schemes, credentials and addresses
  before a request is made (used for any client, including ones we did not build);
- `GuardedClient` resolves, checks and connects in one step inside the connection
  pool, so the address we checked is the address we connect to. DNS rebinding
  between check and connect is therefore not possible with it. TLS is unaffected:
  httpcore still sends SNI and verifies the certificate for the URL's hostname.

It also enforces the fetch's wall-clock deadline on every socket operation, because
httpx's timeouts are per operation and a server dripping one byte at a time would
otherwise never trip them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

import httpcore
import httpx

type IPAddress = IPv4Address | IPv6Address
type IPNetwork = IPv4Network | IPv6Network

ALLOWED_SCHEMES = frozenset({"http", "https"})
_NAT64 = ip_network("64:ff9b::/96")


class InvalidURLError(ValueError):
    """The URL is not something we fetch (scheme, credentials, no host, unparsable)."""


class BlockedAddressError(Exception):
    """The host resolves to an address the policy forbids."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(host, address)
        self.host = host
        self.address = address

    def __str__(self) -> str:
        return f"{self.host} resolves to forbidden address {self.address}"


class ResolutionError(OSError):
    """The hostname could not be resolved."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which resolved addresses may be connected to.

    By default only globally routable unicast addresses. `allowed_networks` opens
    exact holes (tests allow 127.0.0.1/32); `allow_private` opens everything except
    multicast and the unspecified address (local replay, FETCH_ALLOW_PRIVATE).
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def permits(self, address: IPAddress) -> bool:
        if any(address in network for network in self.allowed_networks):
            return True
        if address.is_multicast or address.is_unspecified:
            return False
        return self.allow_private or not is_internal(address)


def is_internal(address: IPAddress) -> bool:
    """True for anything that is not a plain public unicast address."""
    if isinstance(address, IPv6Address):
        # These forms carry an IPv4 address that the packet may end up at.
        embedded = address.ipv4_mapped or address.sixtofour or _nat64_embedded(address)
        if embedded is not None:
            return is_internal(embedded)
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _nat64_embedded(address: IPv6Address) -> IPv4Address | None:
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def check_url(url: str | httpx.URL) -> httpx.URL:
    """Parse `url` and refuse what we never fetch; the address is checked separately."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise InvalidURLError(f"unparsable URL {url!r}: {exc}") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise InvalidURLError(f"scheme {parsed.scheme or '(none)'!r} is not allowed: {url!r}")
    if parsed.userinfo:
        raise InvalidURLError("URLs with credentials are not allowed")
    if not parsed.host:
        raise InvalidURLError(f"URL has no host: {url!r}")
    return parsed


def resolve_permitted(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """Resolve `host` and return its addresses, refusing if ANY of them is forbidden.

    One bad address is enough: a round-robin record mixing a public and an internal
    address is a classic way to get past a guard that checks only the first one.
    """
    # getaddrinfo takes no timeout: the system resolver's own (resolv.conf) bounds it,
    # so a very slow DNS server can overrun the fetch deadline by that much.
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolutionError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if not policy.permits(ip_address(address)):
            raise BlockedAddressError(host, address)
    return addresses


# The fetch's wall-clock deadline (time.monotonic()), read by the guarded streams.
_deadline: ContextVar[float | None] = ContextVar("clausewatch_fetch_deadline", default=None)


@contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def _clamp(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise error("total deadline exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy permits, pinned to the ones it checked."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_permitted(host, port, self._policy)
        except ResolutionError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")


class GuardedTransport(httpx.HTTPTransport):
    """HTTP/1.1 pooled transport whose connections go through the address guard."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limits: httpx.Limits,
        ssl_context: Any = None,
    ) -> None:
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, http1=True, http2=False)
        # httpx has no public hook for a network backend, so replace the pool it
        # built with an equivalent one that connects through the guard.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_GuardedBackend(policy),
        )


class GuardedClient(httpx.Client):
    """An httpx client built on `GuardedTransport`; remembers the policy it enforces."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address_policy = policy
