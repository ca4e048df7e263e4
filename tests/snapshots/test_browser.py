"""BrowserFetcher: JavaScript pages in a real headless Chromium, against loopback servers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from snapshots.browser import BrowserFetcher, BrowserSettings
from snapshots.extract import ExtractRules, extract
from snapshots.fetch import FetchError, fetch
from tests.snapshots.servers import LOOPBACK_ONLY, fetch_settings, http_server

TERMS = [
    "Example Music Terms of Use",
    "You keep every right to the tracks you upload.",
    "We do not use your uploads to train machine learning models.",
]

# The document exists only once its script has fetched and rendered it, like a single-page app.
APP_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Example Music</title></head>
<body><div id="app">Loading…</div>
<script>
fetch("/api/terms.json").then(r => r.json()).then(t => {
  document.getElementById("app").innerHTML =
    "<main id='terms'><h1>" + t.title + "</h1>" + t.clauses.map(c => "<p>" + c + "</p>").join("") + "</main>";
});
</script></body></html>"""

SETTINGS = BrowserSettings(
    user_agent="Clausewatch/0.1 (+https://clausewatch.example/about#bot)",
    accept_language="en-GB,en;q=0.8",
    total_timeout=10,
    idle_wait=2,
    policy=LOOPBACK_ONLY,
)
QUICK = replace(SETTINGS, total_timeout=2)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserFetcher]:
    fetcher = BrowserFetcher(close_timeout=1)
    yield fetcher
    fetcher.close()


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    with http_server() as server:
        yield server


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    yield _server
    _server.clear()


@pytest.fixture
def forbidden() -> Iterator[HTTPServer]:
    """A server on 127.0.0.2: loopback too, but outside the allowed 127.0.0.1/32."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    server.expect_request("/secret").respond_with_data("internal secret")
    yield server
    server.clear()
    server.stop()


def serve_app(server: HTTPServer) -> str:
    server.expect_request("/terms").respond_with_data(APP_PAGE, content_type="text/html")
    server.expect_request("/api/terms.json").respond_with_json(
        {"title": TERMS[0], "clauses": TERMS[1:]}
    )
    return server.url_for("/terms")


def text_of(body: bytes, content_type: str = "text/html; charset=utf-8") -> str:
    return extract(body, content_type=content_type, rules=ExtractRules())


def test_it_records_text_that_only_exists_after_the_javascript_ran(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    url = serve_app(server)
    plain = fetch(url, settings=fetch_settings())
    assert text_of(plain.body) == "Loading…\n"  # all the HTTP fetcher sees

    result = browser.fetch(url, settings=SETTINGS, wait_for="main#terms")

    assert result.status == 200
    assert result.final_url == url
    assert result.content_type == "text/html"
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    text = text_of(result.body, result.headers["content-type"])
    for sentence in TERMS:
        assert sentence in text


def test_it_sends_the_clausewatch_user_agent_and_accept_language(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    url = serve_app(server)
    browser.fetch(url, settings=SETTINGS, wait_for="main#terms")
    request = next(r for r, _ in server.log if r.path == "/terms")
    assert request.headers["User-Agent"] == SETTINGS.user_agent
    assert request.headers["Accept-Language"] == "en-GB,en;q=0.8"


def test_it_reads_the_page_once_the_network_is_idle_without_a_selector(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    result = browser.fetch(serve_app(server), settings=SETTINGS)
    assert TERMS[1] in text_of(result.body)


def test_it_starts_each_fetch_with_no_cookies_or_storage(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    server.expect_request("/visit").respond_with_data(
        "<main id=seen></main><script>"
        "document.getElementById('seen').textContent = 'cookie=' + document.cookie"
        " + ' storage=' + localStorage.getItem('seen');"
        "document.cookie = 'visited=1'; localStorage.setItem('seen', 'yes');</script>",
        content_type="text/html",
    )
    for _ in range(2):
        result = browser.fetch(server.url_for("/visit"), settings=SETTINGS, wait_for="#seen")
        assert "cookie= storage=null" in result.body.decode()


def test_it_serves_fetches_from_several_threads(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    # Playwright is bound to one thread; the fetcher hands every fetch to it.
    url = serve_app(server)
    with ThreadPoolExecutor(3) as pool:
        results = list(
            pool.map(lambda _: browser.fetch(url, settings=SETTINGS, wait_for="main"), range(3))
        )
    assert all(TERMS[2] in text_of(r.body) for r in results)


def test_it_times_out_clearly_when_the_selector_never_appears_and_keeps_working(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    url = serve_app(server)
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        browser.fetch(url, settings=QUICK, wait_for="#not-there")
    assert caught.value.kind == "timeout"
    assert "'#not-there' did not appear within the 2s deadline" in caught.value.message
    assert time.monotonic() - started < 2 + 3
    # The same browser serves the next fetch.
    launches = browser.launches
    assert TERMS[1] in text_of(browser.fetch(url, settings=SETTINGS, wait_for="main").body)
    assert browser.launches == launches


def test_it_times_out_on_an_endless_script_and_the_browser_stays_usable(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    # The loop starts after the content is there, so reading the DOM itself hangs.
    server.expect_request("/spin").respond_with_data(
        "<main>Spinning terms</main><script>setTimeout(() => { for (;;) {} }, 10)</script>",
        content_type="text/html",
    )
    server.expect_request("/spin-early").respond_with_data(
        "<script>for (;;) {}</script><main>Never parsed</main>", content_type="text/html"
    )
    for path in ("/spin", "/spin-early"):
        with pytest.raises(FetchError) as caught:
            browser.fetch(server.url_for(path), settings=QUICK)
        assert caught.value.kind == "timeout"
        assert "2s deadline" in caught.value.message
    launches = browser.launches
    result = browser.fetch(serve_app(server), settings=SETTINGS, wait_for="main")
    assert TERMS[0] in text_of(result.body)
    assert browser.launches == launches  # closing the context killed the renderer, not the browser


def test_it_relaunches_a_browser_that_was_killed_between_fetches(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    url = serve_app(server)
    browser.fetch(url, settings=SETTINGS, wait_for="main")
    pid, launches = browser.browser_pid(), browser.launches
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    result = browser.fetch(url, settings=SETTINGS, wait_for="main")

    assert TERMS[1] in text_of(result.body)
    assert browser.launches == launches + 1
    assert browser.browser_pid() not in (None, pid)


def test_it_kills_and_replaces_a_browser_that_stopped_answering(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    url = serve_app(server)
    browser.fetch(url, settings=SETTINGS, wait_for="main")
    pid = browser.browser_pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, but hung
    try:
        with pytest.raises(FetchError) as caught:
            browser.fetch(url, settings=QUICK, wait_for="main")
        assert caught.value.kind == "timeout"
        assert _gone_within(pid, seconds=2)  # the fetcher killed it
    finally:
        if _exists(pid):
            os.kill(pid, signal.SIGKILL)
    assert TERMS[1] in text_of(browser.fetch(url, settings=SETTINGS, wait_for="main").body)


def test_it_blocks_subresources_on_disallowed_addresses(
    browser: BrowserFetcher, server: HTTPServer, forbidden: HTTPServer
) -> None:
    secret = forbidden.url_for("/secret")
    server.expect_request("/hop").respond_with_data("", status=302, headers={"Location": secret})
    server.expect_request("/page").respond_with_data(
        f"""<main id=terms>Public terms</main>
        <img src="{secret}"><iframe src="{secret}"></iframe>
        <img src="{server.url_for("/hop")}">
        <script>fetch("{secret}").catch(() => {{}});
        new WebSocket("ws://127.0.0.2:{forbidden.port}/socket");</script>""",
        content_type="text/html",
    )
    result = browser.fetch(server.url_for("/page"), settings=SETTINGS)
    assert "Public terms" in text_of(result.body)
    # Neither the direct requests nor the one behind a redirect reached the server.
    assert forbidden.log == []


def test_it_refuses_a_redirect_of_the_page_to_a_disallowed_address(
    browser: BrowserFetcher, server: HTTPServer, forbidden: HTTPServer
) -> None:
    server.expect_request("/terms").respond_with_data(
        "", status=302, headers={"Location": forbidden.url_for("/secret")}
    )
    with pytest.raises(FetchError) as caught:
        browser.fetch(server.url_for("/terms"), settings=SETTINGS)
    assert caught.value.kind == "blocked_address"
    assert "127.0.0.2" in caught.value.message
    assert forbidden.log == []


def test_it_refuses_a_disallowed_page_before_starting_a_browser(forbidden: HTTPServer) -> None:
    fetcher = BrowserFetcher()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(forbidden.url_for("/secret"), settings=SETTINGS)
    assert caught.value.kind == "blocked_address"
    with pytest.raises(FetchError) as caught:
        fetcher.fetch("file:///etc/passwd", settings=SETTINGS)
    assert caught.value.kind == "invalid_url"
    assert fetcher.launches == 0
    assert forbidden.log == []


def test_it_reports_the_status_of_the_last_main_response(
    browser: BrowserFetcher, server: HTTPServer
) -> None:
    # A challenge page: 403 with a script that sets a cookie and reloads.
    def handler(request: Request) -> Response:
        if request.cookies.get("passed") == "1":
            return Response("<main id=terms>Terms after the check</main>", mimetype="text/html")
        script = "<script>document.cookie = 'passed=1'; location.reload();</script>"
        return Response(f"<p>Checking your browser…</p>{script}", 403, mimetype="text/html")

    server.expect_request("/terms").respond_with_handler(handler)
    result = browser.fetch(server.url_for("/terms"), settings=SETTINGS, wait_for="#terms")
    assert result.status == 200
    assert "Terms after the check" in text_of(result.body)


def test_it_maps_a_refused_connection_to_a_connection_error(browser: BrowserFetcher) -> None:
    with http_server() as gone:
        url = gone.url_for("/terms")
    with pytest.raises(FetchError) as caught:
        browser.fetch(url, settings=SETTINGS)
    assert caught.value.kind == "connection"


def _exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pid: int, *, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _exists(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
