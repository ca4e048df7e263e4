"""Document checks through the browser: fetcher="browser", and the fallback when HTTP is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from platforms.kinds import DocumentStatus
from snapshots import fetching
from snapshots.models import Check, CheckOutcome, Version
from snapshots.services import document_check
from tests.factories import DocumentFactory
from tests.snapshots.servers import http_server
from tests.snapshots.test_browser import APP_PAGE, TERMS

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

# What a bot-protection service shows a client it does not trust (HTTP 200, like Cloudflare's).
CHALLENGE = (
    "<html><head><title>Just a moment...</title></head><body>"
    "<h1>Checking your browser</h1><div class='cf-challenge'></div></body></html>"
)
REAL_PAGE = "<html><body><main id=terms><h1>Example Video Terms</h1><p>{}</p></main></body></html>"


@pytest.fixture(autouse=True)
def _browser_settings(settings) -> None:
    settings.BROWSER_TIMEOUT = 10.0
    settings.BROWSER_IDLE_WAIT = 2.0


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


def looks_like_a_browser(request: Request) -> bool:
    # Navigations from a browser carry fetch metadata; plain HTTP clients do not.
    return request.headers.get("Sec-Fetch-Mode") == "navigate"


def serve_app(server: HTTPServer) -> str:
    server.expect_request("/terms").respond_with_data(APP_PAGE, content_type="text/html")
    server.expect_request("/api/terms.json").respond_with_json(
        {"title": TERMS[0], "clauses": TERMS[1:]}
    )
    return server.url_for("/terms")


def check(doc) -> Check:
    result = document_check(document_id=doc.pk)
    doc.refresh_from_db()
    return result


def test_it_records_a_javascript_page_with_the_browser_fetcher(server: HTTPServer) -> None:
    doc = DocumentFactory(url=serve_app(server), fetcher="browser", select=["main#terms"])
    result = check(doc)
    assert result.outcome == CheckOutcome.FIRST
    assert result.fetcher == "browser"
    assert result.http_status == 200
    text = Version.objects.get(document=doc).text
    assert text.startswith(f"# {TERMS[0]}")
    for sentence in TERMS[1:]:
        assert sentence in text
    assert doc.status == DocumentStatus.OK
    # Rendering again gives the same text: nothing new is recorded.
    assert check(doc).outcome == CheckOutcome.UNCHANGED


def test_it_sees_nothing_of_a_javascript_page_with_plain_http(server: HTTPServer) -> None:
    doc = DocumentFactory(url=serve_app(server), select=["main#terms"])
    result = check(doc)
    assert result.fetcher == "http"
    assert result.outcome == CheckOutcome.SELECTOR_BROKEN
    assert not Version.objects.filter(document=doc).exists()


def test_it_fails_the_check_when_the_selector_never_renders(server: HTTPServer, settings) -> None:
    settings.BROWSER_TIMEOUT = 2.0
    doc = DocumentFactory(url=serve_app(server), fetcher="browser", select=["#never"])
    result = check(doc)
    assert result.outcome == CheckOutcome.ERROR
    assert result.fetcher == "browser"
    assert result.error == "timeout: the selector '#never' did not appear within the 2s deadline"
    assert not Version.objects.filter(document=doc).exists()
    assert doc.consecutive_failures == 1
    # The worker's browser is still there for the next document.
    other = DocumentFactory(url=server.url_for("/terms"), fetcher="browser", select=["main"])
    assert check(other).outcome == CheckOutcome.FIRST


def test_it_falls_back_to_the_browser_when_plain_http_gets_403(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if not looks_like_a_browser(request):
            return Response("Forbidden", 403)
        return Response(REAL_PAGE.format("You own your videos."), mimetype="text/html")

    server.expect_request("/terms").respond_with_handler(handler)
    doc = DocumentFactory(url=server.url_for("/terms"))
    result = check(doc)
    assert result.outcome == CheckOutcome.FIRST
    assert result.fetcher == "browser"
    assert result.http_status == 200
    assert result.detail == "HTTP 403 to the plain client; fetched with the browser"
    assert "You own your videos." in Version.objects.get(document=doc).text
    assert [looks_like_a_browser(request) for request, _ in server.log] == [False, True]


def test_it_falls_back_to_the_browser_on_a_bot_challenge_page(server: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        page = (
            REAL_PAGE.format("You own your clips.") if looks_like_a_browser(request) else CHALLENGE
        )
        return Response(page, mimetype="text/html")

    server.expect_request("/terms").respond_with_handler(handler)
    doc = DocumentFactory(url=server.url_for("/terms"))
    result = check(doc)
    assert result.outcome == CheckOutcome.FIRST
    assert result.fetcher == "browser"
    assert (
        result.detail == "a bot challenge (HTTP 200) to the plain client; fetched with the browser"
    )


def test_it_calls_the_page_blocked_when_the_browser_is_refused_too(server: HTTPServer) -> None:
    server.expect_request("/terms").respond_with_data("Forbidden", status=403)
    doc = DocumentFactory(url=server.url_for("/terms"))
    result = check(doc)
    assert result.outcome == CheckOutcome.BLOCKED
    assert result.fetcher == "browser"
    assert result.detail == "HTTP 403 to the plain client; HTTP 403 to the browser too"
    assert doc.status == DocumentStatus.BLOCKED


def test_it_does_not_fall_back_when_the_fallback_is_off(server: HTTPServer, settings) -> None:
    settings.BROWSER_FALLBACK = False
    server.expect_request("/terms").respond_with_data("Forbidden", status=403)
    doc = DocumentFactory(url=server.url_for("/terms"))
    result = check(doc)
    assert (result.outcome, result.fetcher, result.detail) == (CheckOutcome.BLOCKED, "http", "")
    assert len(server.log) == 1


def test_it_refuses_a_private_address_without_starting_a_browser(
    server: HTTPServer, settings
) -> None:
    settings.FETCH_ALLOW_PRIVATE = False
    doc = DocumentFactory(url=serve_app(server), fetcher="browser")
    result = check(doc)
    assert result.outcome == CheckOutcome.BLOCKED
    assert result.error.startswith("blocked_address: 127.0.0.1 resolves to forbidden address")
    assert server.log == []


def test_it_shares_one_browser_per_process() -> None:
    assert fetching.browser() is fetching.browser()
