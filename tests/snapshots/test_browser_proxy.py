"""The browser's guard proxy on its own: what Chromium's connections go through (no browser)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from snapshots.browser import PROXY_HEADER, _GuardProxy
from tests.snapshots.servers import LOOPBACK_ONLY, http_server


@pytest.fixture(scope="module")
def server() -> Iterator[HTTPServer]:
    with http_server() as server:
        server.expect_request("/terms").respond_with_data("the terms", headers={"X-Site": "1"})
        yield server


@pytest.fixture(scope="module")
def forbidden() -> Iterator[HTTPServer]:
    """Loopback too, but outside the allowed 127.0.0.1/32; it never gets a request."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.stop()


def in_thread[T](coro: Coroutine[Any, Any, T]) -> T:
    # As in production, the proxy runs on a thread of its own: the e2e tests' Playwright
    # sync API may have left an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=10)


async def exchange(request: bytes, then: bytes = b"") -> tuple[bytes, list[str]]:
    """Send `request` through a fresh proxy: everything it answers, and what it blocked."""
    proxy = _GuardProxy()
    proxy.begin(LOOPBACK_ONLY)
    await proxy.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(request)
        await writer.drain()
        if then:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(then)
            await writer.drain()
            answer = head + await asyncio.wait_for(reader.read(), 5)
        else:
            answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer, proxy.blocked
    finally:
        await proxy.close()


def test_it_refuses_a_tunnel_to_a_disallowed_address(forbidden: HTTPServer) -> None:
    target = f"127.0.0.2:{forbidden.port}"
    request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
    answer, blocked = in_thread(exchange(request.encode()))
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert f"{PROXY_HEADER}: blocked: 127.0.0.2".encode() in answer
    assert blocked == [f"CONNECT {target}: 127.0.0.2 resolves to forbidden address 127.0.0.2"]


def test_it_tunnels_to_an_allowed_address(server: HTTPServer) -> None:
    target = f"127.0.0.1:{server.port}"
    answer, _ = in_thread(
        exchange(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode(),
            then=f"GET /terms HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n".encode(),
        )
    )
    assert answer.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK")
    assert answer.endswith(b"the terms")


def test_it_forwards_plain_http_once_per_connection(server: HTTPServer) -> None:
    url = server.url_for("/terms")
    request = (
        f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\nX-Browser: 1\r\n\r\n"
    )
    answer, _ = in_thread(exchange(request.encode()))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"\r\nConnection: close" in head
    assert b"X-Site: 1" in head
    assert body == b"the terms"
    received, _ = server.log[-1]
    assert received.path == "/terms"
    assert received.headers["Connection"] == "close"
    assert received.headers["X-Browser"] == "1"
    assert "Proxy-Connection" not in received.headers


def test_it_refuses_plain_http_to_a_disallowed_address(forbidden: HTTPServer) -> None:
    url = forbidden.url_for("/secret")
    answer, blocked = in_thread(exchange(f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))
    assert answer.startswith(b"HTTP/1.1 403 ")
    assert PROXY_HEADER.encode() in answer
    assert blocked == [f"{url}: 127.0.0.2 resolves to forbidden address 127.0.0.2"]
    assert forbidden.log == []


def test_it_answers_for_hosts_it_cannot_reach() -> None:
    answer, blocked = in_thread(exchange(b"CONNECT nowhere.invalid:443 HTTP/1.1\r\n\r\n"))
    assert answer.startswith(b"HTTP/1.1 502 ")
    assert f"{PROXY_HEADER}: failed".encode() in answer
    assert blocked == []
