"""fetch(): the body size cap, before and after decompression."""

from __future__ import annotations

import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from snapshots.fetch import FetchError, fetch
from tests.snapshots.servers import RawServer, fetch_settings, http_server, read_request

MB = 1024 * 1024


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


def gzip_bomb(inflated_mb: int) -> bytes:
    """About inflated_mb KB of valid gzip that inflates to inflated_mb MB of zeros.

    Full flushes make every 1 MB block compress to identical bytes, so one block is
    compressed and repeated instead of deflating a gigabyte in the test.
    """
    zeros = bytes(MB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    end_of_stream = deflate.flush()[:-8]  # the final block, without its 2 MB trailer
    crc = 0
    for _ in range(inflated_mb):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (inflated_mb * MB) & 0xFFFFFFFF)
    return first + block * (inflated_mb - 1) + end_of_stream + trailer


def test_it_stops_reading_a_50_mb_body_at_the_cap() -> None:
    sent = 0

    def fifty_mb_without_length(server: RawServer, conn: socket.socket) -> None:
        nonlocal sent
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
        chunk = b"x" * 65536
        for _ in range(50 * MB // len(chunk)):
            conn.sendall(chunk)
            sent += len(chunk)

    tracemalloc.start()
    try:
        with RawServer(fifty_mb_without_length) as raw:
            with pytest.raises(FetchError) as caught:
                fetch(raw.url(), settings=fetch_settings(max_bytes=MB))
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert caught.value.kind == "too_large"
    assert peak < 6 * MB
    # What the server got out before the client hung up: the cap plus socket buffers.
    assert sent < 25 * MB


def test_it_stops_a_gzip_bomb_quickly_and_in_little_memory() -> None:
    bomb = gzip_bomb(1024)  # ~1 MB on the wire, 1 GB inflated
    assert len(bomb) < 1.1 * MB

    def serve_bomb(server: RawServer, conn: socket.socket) -> None:
        read_request(conn)
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n\r\n"
        conn.sendall(head.encode() + bomb)

    # A raw server, so that the traced memory is the client's alone.
    with RawServer(serve_bomb) as raw:
        tracemalloc.start()
        try:
            started = time.monotonic()
            with pytest.raises(FetchError) as caught:
                fetch(raw.url(), settings=fetch_settings(max_bytes=2 * MB))
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert caught.value.kind == "too_large"
    assert "decoded" in caught.value.message
    assert elapsed < 2
    # The 2 MB kept so far plus one inflate step, not a gigabyte (nor one 64 MB burst).
    assert peak < 4 * MB


def test_it_inflates_a_body_just_under_the_cap(server: HTTPServer) -> None:
    server.expect_request("/zeros").respond_with_data(
        gzip_bomb(2), headers={"Content-Encoding": "gzip"}
    )

    result = fetch(server.url_for("/zeros"), settings=fetch_settings(max_bytes=2 * MB))

    assert result.body == bytes(2 * MB)


def test_it_rejects_a_declared_content_length_over_the_cap_without_reading() -> None:
    sent = 0

    def declares_a_gigabyte(server: RawServer, conn: socket.socket) -> None:
        nonlocal sent
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        server.stopped.wait()

    with RawServer(declares_a_gigabyte) as raw:
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            fetch(raw.url(), settings=fetch_settings(max_bytes=MB, read_timeout=4))

    assert caught.value.kind == "too_large"
    assert "Content-Length" in caught.value.message
    # The server sends no body at all: had we tried to read it we would have timed out.
    assert time.monotonic() - started < 2
    assert raw.connections == 1
