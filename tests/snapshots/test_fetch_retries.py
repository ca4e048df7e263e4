"""fetch(): retries, backoff, Retry-After, timeouts and the total deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from snapshots.fetch import FetchError, fetch
from tests.snapshots.servers import (
    Handler,
    RawServer,
    fetch_settings,
    http_server,
    read_request,
    unaccepting_port,
)


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_retries_server_errors_then_gives_up(server: HTTPServer, status: int) -> None:
    server.expect_request("/flaky").respond_with_data("down", status=status)
    sleeps: list[float] = []

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/flaky"), settings=fetch_settings(retries=2), sleep=sleeps.append)

    assert (caught.value.kind, caught.value.status) == ("server_error", status)
    assert caught.value.final_url == server.url_for("/flaky")
    assert len(server.log) == 3
    # Exponential backoff with jitter: each wait is between half and all of base * 2**n.
    assert 0.005 <= sleeps[0] <= 0.01
    assert 0.01 <= sleeps[1] <= 0.02


def test_it_succeeds_when_a_503_is_followed_by_a_200(server: HTTPServer) -> None:
    server.expect_oneshot_request("/terms").respond_with_data("busy", status=503)
    server.expect_request("/terms").respond_with_data("terms")

    result = fetch(server.url_for("/terms"), settings=fetch_settings(), sleep=lambda _: None)

    assert (result.status, result.body, result.attempts) == (200, b"terms", 2)


def test_it_waits_for_retry_after_seconds_on_a_429(server: HTTPServer) -> None:
    server.expect_oneshot_request("/terms").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3"}
    )
    server.expect_request("/terms").respond_with_data("terms")
    sleeps: list[float] = []

    result = fetch(server.url_for("/terms"), settings=fetch_settings(), sleep=sleeps.append)

    assert (result.status, result.body) == (200, b"terms")
    assert sleeps == [3.0]


def test_it_gives_up_on_a_retry_after_beyond_the_cap(server: HTTPServer) -> None:
    server.expect_request("/terms").respond_with_data(
        "come back tomorrow", status=429, headers={"Retry-After": "86400"}
    )
    sleeps: list[float] = []

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/terms"), settings=fetch_settings(), sleep=sleeps.append)

    error = caught.value
    assert (error.kind, error.status, error.retry_after) == ("rate_limited", 429, 86400.0)
    assert sleeps == []
    assert len(server.log) == 1


def test_it_gives_up_when_the_backoff_would_pass_the_deadline(server: HTTPServer) -> None:
    server.expect_request("/terms").respond_with_data("busy", status=503)
    sleeps: list[float] = []

    with pytest.raises(FetchError) as caught:
        fetch(
            server.url_for("/terms"),
            settings=fetch_settings(backoff_base=60, total_timeout=2),
            sleep=sleeps.append,
        )

    assert caught.value.kind == "server_error"
    assert "no time left" in caught.value.message
    assert sleeps == []


def test_it_times_out_connecting_to_a_port_that_never_accepts() -> None:
    # A full accept queue drops our SYN, so this is a real connect timeout on loopback.
    with unaccepting_port() as port:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(
                f"http://127.0.0.1:{port}/",
                settings=fetch_settings(connect_timeout=0.3, retries=0),
            )

    assert caught.value.kind == "timeout"
    assert "ConnectTimeout" in caught.value.message
    assert time.monotonic() - started < 2


def _hang(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    server.stopped.wait()


def test_it_times_out_reading_and_retries() -> None:
    sleeps: list[float] = []
    with RawServer(_hang) as raw:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(
                raw.url(), settings=fetch_settings(read_timeout=0.3, retries=1), sleep=sleeps.append
            )
        elapsed = time.monotonic() - started

    assert caught.value.kind == "timeout"
    assert "ReadTimeout" in caught.value.message
    assert raw.connections == 2
    assert len(sleeps) == 1
    assert elapsed < 2


def _drip_body(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while not server.stopped.wait(0.05):
        conn.sendall(b"x")


def _drip_headers(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not server.stopped.wait(0.05):
        conn.sendall(b"a")


@pytest.mark.parametrize("handler", [_drip_body, _drip_headers], ids=["body", "headers"])
def test_it_cuts_a_dripping_server_at_the_total_deadline(handler: Handler) -> None:
    # Each byte arrives well within the read timeout; only the total deadline stops it.
    with RawServer(handler) as raw:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(raw.url(), settings=fetch_settings(read_timeout=0.5, total_timeout=1))
        elapsed = time.monotonic() - started

    assert caught.value.kind == "timeout"
    assert "total deadline" in caught.value.message
    assert 0.9 < elapsed < 2.5
    assert raw.connections == 1


def test_it_retries_a_dropped_connection() -> None:
    def drop_first(server: RawServer, conn: socket.socket) -> None:
        read_request(conn)
        if server.connections == 1:
            conn.shutdown(socket.SHUT_RDWR)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nterms")

    with RawServer(drop_first) as raw:
        result = fetch(raw.url(), settings=fetch_settings(), sleep=lambda _: None)

    assert (result.body, result.attempts, raw.connections) == (b"terms", 2, 2)


class RecordingThrottle:
    def __init__(self) -> None:
        self.hosts: list[str] = []

    def wait(self, host: str) -> None:
        self.hosts.append(host)


def test_it_asks_the_throttle_before_every_request(server: HTTPServer) -> None:
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_oneshot_request("/new").respond_with_data("busy", status=503)
    server.expect_request("/new").respond_with_data("terms")
    throttle = RecordingThrottle()

    result = fetch(
        server.url_for("/old"), settings=fetch_settings(), throttle=throttle, sleep=lambda _: None
    )

    assert result.body == b"terms"
    assert result.attempts == 3
    assert throttle.hosts == ["127.0.0.1"] * 3
