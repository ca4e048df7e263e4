"""fetch(): what comes back for ordinary responses, and decode_body()."""

from __future__ import annotations

import gzip
import pickle
import socket
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer

from snapshots.fetch import FetchError, decode_body, fetch, make_client, parse_retry_after
from tests.snapshots.servers import (
    CONTACT_URL,
    RawServer,
    fetch_settings,
    http_server,
    read_request,
)

FRENCH = (
    "Conditions générales d'utilisation. Vous nous accordez une licence mondiale, "
    "non exclusive et gratuite pour héberger, reproduire et entraîner nos modèles "
    "d'intelligence artificielle à partir de votre contenu. Ces conditions sont régies "
    "par le droit français; les litiges relèvent des tribunaux compétents de Paris."
)


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


def test_it_returns_a_200_with_the_charset_from_the_header(server: HTTPServer) -> None:
    html = f"<html><body><p>{FRENCH}</p></body></html>".encode("iso-8859-15")
    server.expect_request("/terms").respond_with_data(
        html, content_type="text/html; charset=ISO-8859-15", headers={"ETag": '"v1"'}
    )

    result = fetch(server.url_for("/terms"), settings=fetch_settings())

    assert result.status == 200
    assert result.body == html
    assert result.content_type == "text/html"
    assert result.charset == "iso-8859-15"
    assert result.etag == '"v1"'
    assert result.headers["content-type"] == "text/html; charset=ISO-8859-15"
    assert result.final_url == result.url == server.url_for("/terms")
    assert result.redirects == []
    assert not result.not_modified
    assert not result.redirected_offsite
    assert result.attempts == 1
    assert decode_body(result.body, result.headers["content-type"]) == (
        f"<html><body><p>{FRENCH}</p></body></html>",
        "iso8859-15",
    )


def test_it_falls_back_when_the_declared_charset_is_wrong() -> None:
    latin1 = f"<p>{FRENCH}</p>".encode("latin-1")

    text, encoding = decode_body(latin1, "text/html; charset=utf-8")

    assert FRENCH in text
    assert encoding != "utf-8"


def test_it_uses_the_meta_charset_when_the_header_has_none() -> None:
    body = f'<html><head><meta charset="windows-1252"></head><p>{FRENCH} “AI”</p>'.encode("cp1252")
    http_equiv = (
        b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
        + "<p>Условия использования</p>".encode("koi8-r")
    )

    assert decode_body(body, "text/html") == (body.decode("cp1252"), "cp1252")
    assert decode_body(http_equiv, None)[0].endswith("<p>Условия использования</p>")


def test_it_sniffs_when_no_charset_is_declared() -> None:
    utf8 = f"<p>{FRENCH}</p>".encode()
    latin1 = f"<p>{FRENCH}</p>".encode("latin-1")

    assert decode_body(utf8, None) == (f"<p>{FRENCH}</p>", "utf-8")
    assert FRENCH in decode_body(latin1, "text/html")[0]


def test_it_reads_iso_8859_1_as_windows_1252_like_browsers() -> None:
    title = "\u201cTerms\u201d \u2013 2024"  # curly quotes and an en dash: 0x93 0x94 0x96

    assert decode_body(title.encode("cp1252"), "text/html; charset=iso-8859-1") == (
        title,
        "cp1252",
    )


def test_it_never_raises_on_undecodable_or_unknown_charsets() -> None:
    junk = bytes(range(256)) * 4

    text, _ = decode_body(junk, "text/html; charset=no-such-charset")

    assert isinstance(text, str)
    assert decode_body(b"\xef\xbb\xbfhello", "text/plain; charset=latin-1") == ("hello", "utf-8")


def test_it_sends_user_agent_accept_language_and_validators(server: HTTPServer) -> None:
    server.expect_request(
        "/privacy",
        headers={
            "User-Agent": f"Clausewatch/0.1 (+{CONTACT_URL})",
            "Accept-Language": "en-GB,en;q=0.8",
            "If-None-Match": '"abc"',
            "If-Modified-Since": "Wed, 01 Jan 2025 00:00:00 GMT",
        },
    ).respond_with_data("", status=304)

    result = fetch(
        server.url_for("/privacy"),
        settings=fetch_settings(),
        etag='"abc"',
        last_modified="Wed, 01 Jan 2025 00:00:00 GMT",
    )

    assert result.status == 304
    assert result.not_modified
    assert result.body == b""
    # The validators we sent still describe the content when the 304 omits them.
    assert result.etag == '"abc"'
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"


def test_it_returns_an_empty_200_without_error(server: HTTPServer) -> None:
    server.expect_request("/empty").respond_with_data(b"", content_type="text/html")

    result = fetch(server.url_for("/empty"), settings=fetch_settings())

    assert (result.status, result.body) == (200, b"")


@pytest.mark.parametrize("status", [403, 404, 410])
def test_it_returns_client_errors_with_their_body(server: HTTPServer, status: int) -> None:
    server.expect_request("/blocked").respond_with_data(
        "<h1>Are you a robot?</h1>", status=status, content_type="text/html"
    )

    result = fetch(server.url_for("/blocked"), settings=fetch_settings())

    assert (result.status, result.body) == (status, b"<h1>Are you a robot?</h1>")
    assert result.attempts == 1


def test_it_passes_nul_bytes_and_a_5_mb_line_through_intact(server: HTTPServer) -> None:
    body = b"<p>a\x00b</p>" + b"x" * (5 * 1024 * 1024) + b"\x00\n"
    server.expect_request("/long").respond_with_data(body, content_type="text/html")

    result = fetch(server.url_for("/long"), settings=fetch_settings())

    assert result.body == body


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("application/pdf", "application/pdf"), ("IMAGE/PNG", "image/png")],
)
def test_it_reports_the_media_type_of_non_html(
    server: HTTPServer, content_type: str, expected: str
) -> None:
    payload = b"%PDF-1.7\n\x89PNG\r\n\x1a\n\x00\xff"
    server.expect_request("/doc").respond_with_data(payload, content_type=content_type)

    result = fetch(server.url_for("/doc"), settings=fetch_settings())

    assert (result.content_type, result.charset, result.body) == (expected, None, payload)


def test_it_reports_an_empty_media_type_when_there_is_no_content_type() -> None:
    def no_content_type(server: RawServer, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with RawServer(no_content_type) as raw:
        result = fetch(raw.url(), settings=fetch_settings())

    assert (result.content_type, result.charset, result.body) == ("", None, b"ok")


def test_it_reuses_one_client_across_fetches(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("a")
    server.expect_request("/b").respond_with_data("b")
    config = fetch_settings()

    with make_client(config) as client:
        bodies = [
            fetch(server.url_for(p), settings=config, client=client).body
            for p in ("/a", "/b", "/a")
        ]

    assert bodies == [b"a", b"b", b"a"]


def test_it_decodes_gzip_and_deflate_bodies(server: HTTPServer) -> None:
    server.expect_request("/gz").respond_with_data(
        gzip.compress(FRENCH.encode()), headers={"Content-Encoding": "gzip"}
    )
    raw = zlib.compressobj(wbits=-15)
    bare_deflate = raw.compress(FRENCH.encode()) + raw.flush()
    server.expect_request("/deflate").respond_with_data(
        bare_deflate, headers={"Content-Encoding": "deflate"}
    )

    assert fetch(server.url_for("/gz"), settings=fetch_settings()).body == FRENCH.encode()
    assert fetch(server.url_for("/deflate"), settings=fetch_settings()).body == FRENCH.encode()


def test_it_refuses_an_encoding_it_did_not_ask_for(server: HTTPServer) -> None:
    server.expect_request("/br").respond_with_data(b"\x0b\x02", headers={"Content-Encoding": "br"})

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/br"), settings=fetch_settings())

    assert caught.value.kind == "decode"


def test_it_reports_a_corrupt_gzip_body_as_a_decode_error(server: HTTPServer) -> None:
    truncated_header = gzip.compress(FRENCH.encode())[:4] + b"not gzip at all" * 10
    server.expect_request("/bad").respond_with_data(
        truncated_header, headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(FetchError) as caught:
        fetch(server.url_for("/bad"), settings=fetch_settings())

    assert caught.value.kind == "decode"
    assert len(server.log) == 1  # a broken body is not worth retrying


def test_it_parses_retry_after_seconds_and_dates() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)

    assert parse_retry_after("7") == 7.0
    assert 110 < (parse_retry_after(soon) or 0) <= 120
    assert parse_retry_after("Wed, 01 Jan 2020 00:00:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_it_raises_errors_that_survive_pickling() -> None:
    error = FetchError("rate_limited", "HTTP 429", status=429, retry_after=60.0, final_url="x")

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, as Celery does

    assert (copy.kind, copy.status, copy.retry_after, str(copy)) == (
        "rate_limited",
        429,
        60.0,
        "rate_limited: HTTP 429",
    )
