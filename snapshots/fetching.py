"""The worker's side of fetching: settings from Django, one pooled client per process.

Also the choice of fetcher for a document: plain HTTP, or the headless browser for
documents marked `fetcher="browser"` and for pages that refuse plain HTTP clients.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from ipaddress import ip_network
from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from snapshots.fetch import FetchError, FetchResult, FetchSettings, decode_body, fetch, make_client
from snapshots.net_guard import AddressPolicy
from snapshots.page_signals import is_challenge_page
from snapshots.throttle import HostThrottle, LocalHostThrottle, RedisHostThrottle

if TYPE_CHECKING:
    from platforms.models import Document
    from snapshots.browser import BrowserFetcher, BrowserSettings

_local = threading.local()

# Statuses with which sites turn away clients that do not look like a browser.
FALLBACK_STATUSES = frozenset({403, 406})
# Bot-challenge pages are small; a bigger page is not worth classifying twice.
_CHALLENGE_MAX_BYTES = 256 * 1024


def address_policy() -> AddressPolicy:
    """The SSRF policy, one for both fetchers so they can never disagree."""
    return AddressPolicy(
        allow_private=settings.FETCH_ALLOW_PRIVATE,
        allowed_networks=tuple(ip_network(n) for n in settings.FETCH_ALLOWED_NETWORKS),
    )


@cache
def fetch_settings() -> FetchSettings:
    return FetchSettings(
        user_agent=settings.FETCH_USER_AGENT,
        accept_language=settings.FETCH_ACCEPT_LANGUAGE,
        max_bytes=settings.FETCH_MAX_BYTES,
        connect_timeout=settings.FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.FETCH_READ_TIMEOUT,
        total_timeout=settings.FETCH_TOTAL_TIMEOUT,
        retries=settings.FETCH_RETRIES,
        policy=address_policy(),
    )


def _per_process(name: str, factory):
    # Celery forks worker processes: a client or Redis connection must not cross a fork.
    key = (name, os.getpid())
    cached = getattr(_local, "objects", None)
    if cached is None:
        cached = _local.objects = {}
    if key not in cached:
        cached[key] = factory()
    return cached[key]


def http_client() -> httpx.Client:
    return _per_process("client", lambda: make_client(fetch_settings()))


def host_throttle() -> HostThrottle:
    def build() -> HostThrottle:
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            return RedisHostThrottle(
                client, settings.FETCH_HOST_INTERVAL, prefix="clausewatch:host:"
            )
        return LocalHostThrottle(settings.FETCH_HOST_INTERVAL)

    return _per_process("throttle", build)


def url_fetch(url: str, *, etag: str = "", last_modified: str = "") -> FetchResult:
    return fetch(
        url,
        settings=fetch_settings(),
        etag=etag or None,
        last_modified=last_modified or None,
        client=http_client(),
        throttle=host_throttle(),
    )


@dataclass(frozen=True)
class DocumentFetch:
    """What fetching a document gave: a result or an error, and who served it."""

    fetcher: str  # "http" or "browser": the fetcher whose answer this is
    result: FetchResult | None = None
    error: FetchError | None = None
    note: str = ""  # for the check log, e.g. that the browser stood in for plain HTTP


def document_fetch(
    document: Document, *, known_page: Callable[[FetchResult], bool] | None = None
) -> DocumentFetch:
    """Fetch a document with its fetcher; fall back to the browser when HTTP is turned away.

    `known_page(result)` says the page is one already accepted and extracted before: such a
    page is no bot challenge, so looking for one (a parse of the page) is skipped.
    """
    wait_for = document.select[0] if document.select else None
    if document.fetcher == "browser":
        try:
            return DocumentFetch("browser", result=browser_fetch(document.url, wait_for=wait_for))
        except FetchError as exc:
            return DocumentFetch("browser", error=exc)
    try:
        result = url_fetch(
            document.url, etag=document.http_etag, last_modified=document.http_last_modified
        )
    except FetchError as exc:
        return DocumentFetch("http", error=exc)
    if known_page is not None and known_page(result):
        return DocumentFetch("http", result=result)
    refusal = plain_http_refusal(result)
    if refusal is None or not settings.BROWSER_FALLBACK:
        return DocumentFetch("http", result=result)
    try:
        rendered = browser_fetch(document.url, wait_for=wait_for)
    except FetchError as exc:
        note = f"{refusal} to the plain client; the browser failed too: {exc}"
        return DocumentFetch("http", result=result, note=note)
    if rendered.status in FALLBACK_STATUSES:
        note = f"{refusal} to the plain client; HTTP {rendered.status} to the browser too"
    else:
        note = f"{refusal} to the plain client; fetched with the browser"
    return DocumentFetch("browser", result=rendered, note=note)


def plain_http_refusal(result: FetchResult) -> str | None:
    """How the site turned the plain client away (for the check log), or None if it did not."""
    if result.status in FALLBACK_STATUSES:
        return f"HTTP {result.status}"
    if result.not_modified or result.status >= 400 or len(result.body) > _CHALLENGE_MAX_BYTES:
        return None
    text, _ = decode_body(result.body, result.headers.get("content-type"))
    if is_challenge_page(status=result.status, html_or_text=text):
        return f"a bot challenge (HTTP {result.status})"
    return None


@cache
def browser_settings() -> BrowserSettings:
    from snapshots.browser import BrowserSettings

    return BrowserSettings(
        user_agent=settings.FETCH_USER_AGENT,
        accept_language=settings.FETCH_ACCEPT_LANGUAGE,
        total_timeout=settings.BROWSER_TIMEOUT,
        idle_wait=settings.BROWSER_IDLE_WAIT,
        max_bytes=settings.FETCH_MAX_BYTES,
        policy=address_policy(),
    )


_browser_lock = threading.Lock()
_browsers: dict[int, BrowserFetcher] = {}


def browser() -> BrowserFetcher:
    """This process's browser: started on first use, shared by all its threads."""
    from snapshots.browser import BrowserFetcher

    with _browser_lock:
        fetcher = _browsers.get(os.getpid())
        if fetcher is None:
            fetcher = BrowserFetcher(
                executable_path=settings.BROWSER_EXECUTABLE,
                launch_timeout=settings.BROWSER_LAUNCH_TIMEOUT,
            )
            _browsers[os.getpid()] = fetcher
        return fetcher


def browser_fetch(url: str, *, wait_for: str | None = None) -> FetchResult:
    try:
        host = httpx.URL(url).host
    except httpx.InvalidURL:
        host = ""  # the browser fetcher says what is wrong with it
    if host:
        host_throttle().wait(host)
    return browser().fetch(url, settings=browser_settings(), wait_for=wait_for)


def browser_close() -> None:
    with _browser_lock:
        fetcher = _browsers.pop(os.getpid(), None)
    if fetcher is not None:
        fetcher.close()


def _forget_parent_browser() -> None:
    # A forked worker must not drive its parent's browser (the thread did not come along).
    global _browser_lock
    _browser_lock = threading.Lock()
    _browsers.clear()


os.register_at_fork(after_in_child=_forget_parent_browser)
atexit.register(browser_close)


def reset() -> None:
    """Forget cached settings and clients (tests change settings between cases).

    The browser keeps running: every fetch takes its settings afresh and opens a new
    context, so nothing carries over, and relaunching it per test would cost a second.
    """
    fetch_settings.cache_clear()
    browser_settings.cache_clear()
    for obj in getattr(_local, "objects", {}).values():
        close = getattr(obj, "close", None)
        if close:
            close()
    _local.objects = {}
