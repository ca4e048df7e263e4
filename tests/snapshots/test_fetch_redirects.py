"""fetch(): following redirects by hand."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from snapshots.fetch import AddressPolicy, FetchError, fetch
from tests.snapshots.servers import fetch_settings, http_server


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


def redirect(server: HTTPServer, path: str, location: str, status: int = 302) -> None:
    server.expect_request(path).respond_with_data("", status=status, headers={"Location": location})


def test_it_follows_a_chain_of_three_redirects(server: HTTPServer) -> None:
    redirect(server, "/tos", "/legal/tos", status=301)
    redirect(server, "/legal/tos", server.url_for("/legal/tos/"), status=308)
    redirect(server, "/legal/tos/", "current?lang=en", status=303)
    server.expect_request("/legal/tos/current").respond_with_data("terms")

    result = fetch(server.url_for("/tos"), settings=fetch_settings())

    assert (result.status, result.body) == (200, b"terms")
    assert result.url == server.url_for("/tos")
    assert result.final_url == server.url_for("/legal/tos/current?lang=en")
    assert result.redirects == [
        server.url_for("/legal/tos"),
        server.url_for("/legal/tos/"),
        server.url_for("/legal/tos/current?lang=en"),
    ]
    assert result.attempts == 4
    assert not result.redirected_offsite


@pytest.mark.parametrize(("hops", "error"), [(5, None), (6, "too_many_redirects")])
def test_it_follows_at_most_five_redirects(
    server: HTTPServer, hops: int, error: str | None
) -> None:
    for n in range(hops, 0, -1):
        redirect(server, f"/r{n}", f"/r{n - 1}")
    server.expect_request("/r0").respond_with_data("end")

    if error is None:
        assert fetch(server.url_for(f"/r{hops}"), settings=fetch_settings()).body == b"end"
        return
    with pytest.raises(FetchError) as caught:
        fetch(server.url_for(f"/r{hops}"), settings=fetch_settings())
    assert caught.value.kind == error
    assert caught.value.final_url == server.url_for("/r1")
    assert len(server.log) == 6


def test_it_reports_a_redirect_loop(server: HTTPServer) -> None:
    redirect(server, "/a", "/b")
    redirect(server, "/b", "/a")

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/a"), settings=fetch_settings())

    assert caught.value.kind == "redirect_loop"
    assert caught.value.final_url == server.url_for("/a")
    assert len(server.log) == 2


def test_it_follows_a_redirect_back_once_a_cookie_is_set(server: HTTPServer) -> None:
    def consent_wall(request: Request) -> Response:
        if request.cookies.get("consent") == "yes":
            return Response("terms")
        return Response(status=302, headers={"Location": "/terms", "Set-Cookie": "consent=yes"})

    server.expect_request("/terms").respond_with_handler(consent_wall)

    result = fetch(server.url_for("/terms"), settings=fetch_settings())

    assert (result.body, result.redirects) == (b"terms", [server.url_for("/terms")])


def test_it_flags_a_redirect_to_another_site(server: HTTPServer) -> None:
    redirect(server, "/terms", server.url_for("/landing"))  # 127.0.0.1
    server.expect_request("/landing").respond_with_data("welcome")
    both_loopbacks = AddressPolicy(
        allowed_networks=(ip_network("127.0.0.1/32"), ip_network("::1/128"))
    )
    start = f"http://localhost:{server.port}/terms"

    result = fetch(start, settings=fetch_settings(policy=both_loopbacks))

    assert result.redirected_offsite
    assert result.final_url == server.url_for("/landing")


def test_it_does_not_flag_a_redirect_within_the_site(server: HTTPServer) -> None:
    redirect(server, "/terms", "/terms/")
    server.expect_request("/terms/").respond_with_data("terms")

    assert not fetch(server.url_for("/terms"), settings=fetch_settings()).redirected_offsite
