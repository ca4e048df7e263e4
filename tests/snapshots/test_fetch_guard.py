"""fetch(): the SSRF guard, for the first URL and for every redirect."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from ipaddress import ip_network
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from snapshots.fetch import AddressPolicy, FetchError, fetch, make_client
from tests.snapshots.servers import RawServer, fetch_settings, http_server, read_request


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


def _answer_ok(server: RawServer, conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")


@pytest.fixture
def other_loopback() -> Iterator[RawServer]:
    """A server on 127.0.0.2: loopback too, but outside the allowed 127.0.0.1/32."""
    with RawServer(_answer_ok, host="127.0.0.2") as raw:
        yield raw


# Two ways to be guarded: the pinned transport of make_client(), and the up-front
# check fetch() does for a client it did not build.
type ClientFactory = Callable[[], httpx.Client | None]

CLIENTS: dict[str, ClientFactory] = {
    "own client": lambda: None,
    "plain httpx client": lambda: httpx.Client(trust_env=False),
}


@pytest.mark.parametrize("make", CLIENTS.values(), ids=CLIENTS.keys())
def test_it_refuses_a_redirect_to_another_loopback_address_without_connecting(
    server: HTTPServer, other_loopback: RawServer, make: ClientFactory
) -> None:
    server.expect_request("/terms").respond_with_data(
        "", status=302, headers={"Location": other_loopback.url("/admin")}
    )

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/terms"), settings=fetch_settings(), client=make())

    assert caught.value.kind == "blocked_address"
    assert "127.0.0.2" in caught.value.message
    assert caught.value.final_url == other_loopback.url("/admin")
    assert other_loopback.connections == 0


@pytest.mark.parametrize("make", CLIENTS.values(), ids=CLIENTS.keys())
@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 wrapping 169.254.169.254
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://2130706434/",  # 127.0.0.2 as one decimal number
    ],
)
def test_it_refuses_redirects_to_internal_addresses(
    server: HTTPServer, location: str, make: ClientFactory
) -> None:
    server.expect_request("/terms").respond_with_data(
        "", status=302, headers={"Location": location}
    )
    started = time.monotonic()

    with pytest.raises(FetchError) as caught:
        config = fetch_settings(connect_timeout=3)
        fetch(server.url_for("/terms"), settings=config, client=make())

    assert caught.value.kind == "blocked_address"
    # 10.0.0.1 and 169.254.169.254 do not answer here: a connection attempt would
    # have waited for the connect timeout (or failed as "connection", not "blocked").
    assert time.monotonic() - started < 1.5


def test_it_refuses_loopback_by_default(other_loopback: RawServer) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(other_loopback.url(), settings=fetch_settings(policy=AddressPolicy()))

    assert caught.value.kind == "blocked_address"
    assert other_loopback.connections == 0


def test_it_fetches_private_addresses_when_the_policy_allows_them(
    other_loopback: RawServer,
) -> None:
    result = fetch(
        other_loopback.url(), settings=fetch_settings(policy=AddressPolicy(allow_private=True))
    )

    assert result.body == b"secret"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<h1>hi</h1>",
        "ftp://127.0.0.1/terms.txt",
        "gopher://127.0.0.1:6379/_INFO",
        "http://user:secret@127.0.0.1/",
        "http://:secret@127.0.0.1/",
        "http:///no-host",
        "/relative/terms",
    ],
)
def test_it_refuses_urls_it_must_not_fetch(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(url, settings=fetch_settings())

    assert caught.value.kind == "invalid_url"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "javascript:alert(1)"])
def test_it_refuses_a_redirect_to_another_scheme(server: HTTPServer, location: str) -> None:
    server.expect_request("/terms").respond_with_data(
        "", status=301, headers={"Location": location}
    )

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/terms"), settings=fetch_settings())

    assert caught.value.kind == "invalid_url"
    assert caught.value.final_url == server.url_for("/terms")


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_it_keeps_tls_hostname_checks_while_pinning_the_address(
    localhost_cert: tuple[Path, Path],
) -> None:
    cert, key = localhost_cert
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    trust_test_cert = ssl.create_default_context(cafile=str(cert))
    config = fetch_settings(
        policy=AddressPolicy(allowed_networks=(ip_network("127.0.0.1/32"), ip_network("::1/128")))
    )
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    server.expect_request("/terms").respond_with_data("tls terms")
    server.start()
    try:
        with make_client(config, ssl_context=trust_test_cert) as client:
            result = fetch(f"https://localhost:{server.port}/terms", settings=config, client=client)
            # Same server by IP: the certificate names localhost, so this must fail.
            with pytest.raises(FetchError) as caught:
                fetch(f"https://127.0.0.1:{server.port}/terms", settings=config, client=client)
    finally:
        server.stop()

    assert result.body == b"tls terms"
    assert caught.value.kind == "connection"
    assert "certificate" in caught.value.message.lower()
