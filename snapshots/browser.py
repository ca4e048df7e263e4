"""Fetch pages that only exist after their JavaScript runs, with a headless Chromium.

Pure (no Django): `snapshots.fetching` builds `BrowserSettings` from settings and keeps
one `BrowserFetcher` per worker process. `fetch()` returns the same `FetchResult` as the
HTTP fetcher: the rendered DOM as UTF-8 HTML, the main response's status, the final URL.

How it is put together, and why:

- Playwright's sync API is bound to the thread that started it, and Celery or the
  in-process tracker may call from any thread. So the browser lives on one dedicated
  thread running an asyncio loop (the async API); `fetch()` hands it a job and waits.
  Fetches are serialized per process: one page at a time per browser.
- Each fetch gets a fresh browser context (no shared cookies, storage or cache) that is
  always closed afterwards. The browser itself is launched once and reused; it is
  relaunched when it crashed or was killed, and killed when it stops answering.
- Time: the whole fetch (navigation, waiting for the selector, reading the DOM) runs
  under one deadline. A page stuck in a JavaScript loop cannot answer `page.content()`,
  so the deadline cancels the job and closing the context kills the renderer. If even
  that does not answer, the browser is killed; a watchdog in the calling thread does the
  same if the browser thread itself stops answering.
- The SSRF guard has three layers, because Playwright's `route` handler is not called
  for redirect hops (a public page redirecting to 127.0.0.1 would slip past it):
  1. the document URL is checked (scheme, credentials, resolved address) up front;
  2. `context.route` checks the first hop of every request the page makes
     (subresources, frames, fetch/XHR) and aborts disallowed ones;
  3. Chromium reaches the network only through `_GuardProxy`, a small forward proxy
     on loopback that resolves, checks and connects to the checked address for every
     connection: redirect hops, WebSockets, anything the first two layers cannot see.
     Connecting to the address that was checked also closes the DNS-rebinding window.
     TLS stays end to end (CONNECT tunnel), so sites see Chromium's own TLS.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    Playwright,
    Response,
    Route,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from snapshots.fetch import FetchError, FetchResult
from snapshots.net_guard import (
    AddressPolicy,
    BlockedAddressError,
    InvalidURLError,
    ResolutionError,
    check_url,
    resolve_permitted,
)

__all__ = ["DEFAULT_ARGS", "BrowserFetcher", "BrowserSettings", "process_tree"]

logger = logging.getLogger(__name__)

DEFAULT_EXECUTABLE = "/usr/bin/chromium"
DEFAULT_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # QUIC and WebRTC's UDP would not go through the guard proxy.
    "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--mute-audio",
)
# The response header the guard proxy puts on the answers it gives in place of a site.
PROXY_HEADER = "x-clausewatch-proxy"
_HEAD_LIMIT = 64 * 1024
_GRACE = 0.25
_PROXY_CONNECT_TIMEOUT = 10.0
_TUNNEL_LIFETIME = 600.0
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"proxy-authorization"})
_NO_NETWORK_SCHEMES = frozenset({"data", "blob", "about"})


@dataclass(frozen=True)
class BrowserSettings:
    """How one fetch behaves; may differ from fetch to fetch on the same browser."""

    user_agent: str
    accept_language: str
    total_timeout: float = 45
    # Without a selector to wait for: wait at most this long for the network to go quiet.
    idle_wait: float = 5
    max_bytes: int = 10 * 1024 * 1024
    policy: AddressPolicy = field(default_factory=AddressPolicy)


class BrowserFetcher:
    """One headless Chromium, reused across fetches; thread-safe, one per worker process."""

    def __init__(
        self,
        *,
        executable_path: str = DEFAULT_EXECUTABLE,
        args: tuple[str, ...] = DEFAULT_ARGS,
        launch_timeout: float = 30,
        close_timeout: float = 5,
    ) -> None:
        self.executable_path = executable_path
        self.args = args
        self.launch_timeout = launch_timeout
        self.close_timeout = close_timeout
        self.launches = 0  # how many times a browser was started (tests, logs)
        self._runtime: _Runtime | None = None
        self._lock = threading.Lock()

    def fetch(
        self, url: str, *, settings: BrowserSettings, wait_for: str | None = None
    ) -> FetchResult:
        """Render `url` and return its DOM; raises FetchError like the HTTP fetcher.

        `wait_for` is a CSS selector the content is ready at; without it the page is
        read once the network is idle (or after `idle_wait`, whichever comes first).
        """
        started = time.monotonic()
        target = _checked_url(url)
        _check_host(target, settings.policy)
        runtime = self._ensure_runtime()
        job = _Job(url=url, settings=settings, wait_for=wait_for, started=started)
        future = runtime.submit(self._run_job(runtime, job))
        # The job may wait for the browser behind other threads' fetches; the watchdog
        # starts once it has the browser, and allows for a launch and a context close.
        while not job.running.wait(0.5) and not future.done():
            if not runtime.alive:
                raise FetchError("browser_crashed", "the browser thread stopped", final_url=url)
        limit = settings.total_timeout + self.launch_timeout + 2 * self.close_timeout + 5
        try:
            return future.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            logger.warning("browser did not answer for %.0fs; killing it", limit)
            future.cancel()
            runtime.kill_browser()
            with contextlib.suppress(Exception):
                future.result(timeout=self.close_timeout)
            if not future.done():
                self._abandon(runtime)
            message = f"the browser did not answer within {limit:g}s and was restarted"
            raise FetchError("timeout", message, final_url=url) from None
        except concurrent.futures.CancelledError:
            raise FetchError("browser_crashed", "the fetch was cancelled", final_url=url) from None

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.stop(timeout=self.close_timeout + 5)

    def browser_pid(self) -> int | None:
        """The main Chromium process, if one is running (tests kill it; the bench measures it)."""
        runtime = self._runtime
        return runtime.browser_pid if runtime is not None else None

    def process_ids(self) -> list[int]:
        """The Playwright driver and every Chromium process under it."""
        runtime = self._runtime
        if runtime is None or runtime.driver_pid is None:
            return []
        return process_tree(runtime.driver_pid)

    # -- inside the browser thread -------------------------------------------------------

    async def _run_job(self, runtime: _Runtime, job: _Job) -> FetchResult:
        async with runtime.fetch_lock:
            job.running.set()
            browser = await runtime.ready_browser(self)
            job.started = time.monotonic()  # queueing and launching do not count
            guard = _RequestGuard(job.settings.policy)
            runtime.proxy.begin(job.settings.policy)
            context: BrowserContext | None = None
            try:
                # Playwright's own timeouts end at the deadline and say more; this is the
                # backstop for what they do not cover (reading the DOM of a stuck page).
                async with asyncio.timeout(job.settings.total_timeout + _GRACE):
                    context, browser = await self._open_context(runtime, browser, job)
                    return await _render(context, job, guard)
            except TimeoutError:
                if context is None:
                    await runtime.drop_browser(self.close_timeout)  # it did not answer at all
                raise _timeout(job) from None
            except PlaywrightError as exc:
                raise _fetch_error(exc, job, guard, runtime, browser) from None
            finally:
                if context is not None:
                    await runtime.dispose(context, self.close_timeout)

    async def _open_context(
        self, runtime: _Runtime, browser: Browser, job: _Job
    ) -> tuple[BrowserContext, Browser]:
        try:
            return await _new_context(browser, job.settings), browser
        except PlaywrightError:
            # It died since we last looked (killed between fetches): start another.
            browser = await runtime.ready_browser(self, relaunch=True)
            return await _new_context(browser, job.settings), browser

    def _ensure_runtime(self) -> _Runtime:
        with self._lock:
            if self._runtime is None or not self._runtime.alive:
                self._runtime = _Runtime()
            return self._runtime

    def _abandon(self, runtime: _Runtime) -> None:
        # The browser thread itself is stuck: leave it, kill what it started, start over.
        with self._lock:
            if self._runtime is runtime:
                self._runtime = None
        runtime.kill_all()


@dataclass
class _Job:
    url: str
    settings: BrowserSettings
    wait_for: str | None
    started: float
    running: threading.Event = field(default_factory=threading.Event)
    step: str = "opening a browser context"  # what it was doing, for timeout messages


class _Runtime:
    """The browser thread: an asyncio loop owning Playwright, the browser and the proxy."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None
        self.browser_pid: int | None = None
        self.driver_pid: int | None = None
        self.proxy = _GuardProxy()
        self._thread = threading.Thread(target=self._serve, name="clausewatch-browser", daemon=True)
        self._thread.start()
        # Created on the loop's thread so it binds to that loop.
        self.fetch_lock: asyncio.Lock = self.call(self._make_lock())

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit[T](self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call[T](self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return self.submit(coro).result(timeout=timeout)

    async def _make_lock(self) -> asyncio.Lock:
        return asyncio.Lock()

    async def ready_browser(self, owner: BrowserFetcher, *, relaunch: bool = False) -> Browser:
        if self.browser is not None and self.browser.is_connected() and not relaunch:
            return self.browser
        await self.drop_browser(owner.close_timeout)
        try:
            async with asyncio.timeout(owner.launch_timeout):
                try:
                    return await self._launch(owner)
                except PlaywrightError:
                    # The driver may be gone too (killed with the browser): restart both.
                    await self._drop_playwright(owner.close_timeout)
                    return await self._launch(owner)
        except TimeoutError:
            await self._drop_playwright(owner.close_timeout)
            message = f"the browser did not start within {owner.launch_timeout:g}s"
            raise FetchError("browser_unavailable", message) from None
        except PlaywrightError as exc:
            await self._drop_playwright(owner.close_timeout)
            message = f"the browser could not be started: {_first_line(exc)}"
            raise FetchError("browser_unavailable", message) from None

    async def _launch(self, owner: BrowserFetcher) -> Browser:
        if self.proxy.port == 0:
            await self.proxy.start()
        if self.playwright is None:
            before = set(_children(os.getpid()))
            self.playwright = await async_playwright().start()
            new = [p for p in _children(os.getpid()) if p not in before and _is_driver(p)]
            self.driver_pid = new[0] if len(new) == 1 else None
        before = set(_children(self.driver_pid)) if self.driver_pid else set()
        browser = await self.playwright.chromium.launch(
            executable_path=owner.executable_path,
            args=list(owner.args),
            headless=True,
            # Every connection goes through the guard proxy, loopback included.
            proxy={"server": f"http://127.0.0.1:{self.proxy.port}", "bypass": "<-loopback>"},
            timeout=owner.launch_timeout * 1000,
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )
        if self.driver_pid:
            new = [p for p in _children(self.driver_pid) if p not in before]
            self.browser_pid = new[0] if len(new) == 1 else None
        owner.launches += 1
        self.browser = browser
        logger.info("browser started (pid %s)", self.browser_pid)
        return browser

    async def dispose(self, context: BrowserContext, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await context.close()
        except (TimeoutError, PlaywrightError):
            # A context that cannot be closed means a browser that no longer answers.
            logger.warning("browser context did not close; stopping the browser")
            await self.drop_browser(timeout)

    async def drop_browser(self, timeout: float) -> None:
        browser, self.browser = self.browser, None
        if browser is not None:
            with contextlib.suppress(TimeoutError, PlaywrightError):
                async with asyncio.timeout(timeout):
                    await browser.close()
        self.kill_browser()

    async def _drop_playwright(self, timeout: float) -> None:
        playwright, self.playwright = self.playwright, None
        self.browser = None
        if playwright is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout):
                    await playwright.stop()
        if self.driver_pid:
            _kill_tree(self.driver_pid)
        self.driver_pid = None
        self.browser_pid = None

    def kill_browser(self) -> None:
        """SIGKILL the browser and its children; safe from any thread."""
        pid, self.browser_pid = self.browser_pid, None
        if pid:
            _kill_tree(pid)

    def kill_all(self) -> None:
        self.kill_browser()
        if self.driver_pid:
            _kill_tree(self.driver_pid)
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)

    def stop(self, timeout: float) -> None:
        if not self.alive:
            return
        try:
            self.call(self._shutdown(), timeout=timeout)
        except Exception:
            self.kill_all()
        else:
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=timeout)

    async def _shutdown(self) -> None:
        await self.drop_browser(5)
        await self._drop_playwright(5)
        await self.proxy.close()


async def _new_context(browser: Browser, settings: BrowserSettings) -> BrowserContext:
    return await browser.new_context(
        user_agent=settings.user_agent,
        # Not `locale=`: Chromium would then send only that one tag.
        extra_http_headers={"Accept-Language": settings.accept_language},
        # Requests from service workers would not pass through `route`.
        service_workers="block",
        accept_downloads=False,
    )


async def _render(context: BrowserContext, job: _Job, guard: _RequestGuard) -> FetchResult:
    settings = job.settings

    def remaining_ms() -> float:
        return max(1.0, (job.started + settings.total_timeout - time.monotonic()) * 1000)

    await context.route("**/*", guard.handle)
    page = await context.new_page()
    navigations: list[Response] = []

    def on_response(response: Response) -> None:
        request = response.request
        with contextlib.suppress(PlaywrightError):  # .frame raises for frameless requests
            if request.is_navigation_request() and request.frame == page.main_frame:
                navigations.append(response)

    page.on("response", on_response)
    job.step = "loading the page"
    first = await page.goto(job.url, wait_until="domcontentloaded", timeout=remaining_ms())
    if job.wait_for:
        job.step = f"waiting for {job.wait_for!r}"
        try:
            await page.wait_for_selector(
                f"css={job.wait_for}", state="attached", timeout=remaining_ms()
            )
        except PlaywrightTimeoutError:
            raise _timeout(job, page.url) from None
    else:
        job.step = "waiting for the network to go idle"
        with contextlib.suppress(PlaywrightTimeoutError):
            # Pages that poll never go quiet; read them after idle_wait anyway.
            await page.wait_for_load_state(
                "networkidle", timeout=min(settings.idle_wait * 1000, remaining_ms())
            )
    job.step = "reading the page"
    html = await page.content()
    # A challenge page that reloads itself: what counts is the last main-frame response.
    main = navigations[-1] if navigations else first
    if main is None:
        raise FetchError("connection", "the browser got no response", final_url=page.url)
    headers = await main.all_headers()
    verdict = headers.get(PROXY_HEADER)
    if verdict:
        # The guard proxy answered in place of the site.
        kind = "blocked_address" if verdict.startswith("blocked") else "connection"
        raise FetchError(kind, f"{main.url}: {verdict}", final_url=main.url)
    return _build_result(job, main.url, main.status, headers, html, _redirect_hops(main))


def _redirect_hops(response: Response) -> list[str]:
    hops: list[str] = []
    request = response.request
    while request.redirected_from is not None:
        hops.append(request.url)
        request = request.redirected_from
    return hops[::-1]


def _build_result(
    job: _Job, final_url: str, status: int, headers: dict[str, str], html: str, hops: list[str]
) -> FetchResult:
    body = html.encode("utf-8")
    if len(body) > job.settings.max_bytes:
        message = f"the rendered page exceeds the {job.settings.max_bytes} byte cap"
        raise FetchError("too_large", message, status=status, final_url=final_url)
    # The body is the DOM as serialized by the browser: UTF-8 HTML, whatever was served.
    kept = {k: v for k, v in headers.items() if k not in ("content-length", "content-encoding")}
    kept["content-type"] = "text/html; charset=utf-8"
    return FetchResult(
        url=job.url,
        final_url=final_url,
        status=status,
        headers=kept,
        body=body,
        content_type="text/html",
        charset="utf-8",
        etag=None,
        last_modified=None,
        not_modified=False,
        redirected_offsite=_site(job.url) != _site(final_url),
        redirects=hops,
        elapsed_ms=round((time.monotonic() - job.started) * 1000),
        attempts=1,
    )


def _fetch_error(
    exc: PlaywrightError, job: _Job, guard: _RequestGuard, runtime: _Runtime, browser: Browser
) -> FetchError:
    text = _first_line(exc)
    blocked = guard.blocked + runtime.proxy.blocked
    if blocked and ("ERR_BLOCKED_BY_CLIENT" in text or "ERR_TUNNEL_CONNECTION_FAILED" in text):
        return FetchError("blocked_address", blocked[0], final_url=job.url)
    if not browser.is_connected() or "has been closed" in text or "Target crashed" in text:
        return FetchError("browser_crashed", f"the browser went away: {text}", final_url=job.url)
    if isinstance(exc, PlaywrightTimeoutError):
        return _timeout(job)
    if "Download is starting" in text:
        text = "the browser downloaded the page instead of showing it (a PDF or attachment?)"
    return FetchError("connection", text, final_url=job.url)


def _timeout(job: _Job, final_url: str | None = None) -> FetchError:
    deadline = f"{job.settings.total_timeout:g}s deadline"
    if job.wait_for and job.step.startswith("waiting for '"):
        message = f"the selector {job.wait_for!r} did not appear within the {deadline}"
    else:
        message = f"the page was not ready within the {deadline} ({job.step})"
    return FetchError("timeout", message, final_url=final_url or job.url)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _site(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.lower().rstrip(".").removeprefix("www.")


def _checked_url(url: str) -> Any:
    try:
        return check_url(url)
    except InvalidURLError as exc:
        raise FetchError("invalid_url", str(exc)) from None


def _check_host(url: Any, policy: AddressPolicy) -> None:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        resolve_permitted(url.host, port, policy)
    except BlockedAddressError as exc:
        raise FetchError("blocked_address", str(exc), final_url=str(url)) from None
    except ResolutionError as exc:
        raise FetchError("connection", str(exc), final_url=str(url)) from None


# The request guard (layer 2) -----------------------------------------------------------


class _RequestGuard:
    """`context.route` handler: aborts requests whose host resolves to a forbidden address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.blocked: list[str] = []
        self._verdicts: dict[tuple[str, int], str | None] = {}

    async def handle(self, route: Route) -> None:
        url = route.request.url
        refusal = await self._refusal(url)
        try:
            if refusal is None:
                await route.continue_()
            else:
                self.blocked.append(f"{url}: {refusal}")
                logger.info("browser request blocked: %s: %s", url, refusal)
                await route.abort("blockedbyclient")
        except PlaywrightError:
            pass  # the page or its context closed meanwhile

    async def _refusal(self, url: str) -> str | None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _NO_NETWORK_SCHEMES:
            return None
        if scheme not in ("http", "https"):
            return f"the {scheme}: scheme is not fetched"
        try:
            host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            return "the port is not valid"
        if not host:
            return "the URL has no host"
        key = (host, port)
        if key not in self._verdicts:
            loop = asyncio.get_running_loop()
            self._verdicts[key] = await loop.run_in_executor(
                None, _address_refusal, host, port, self.policy
            )
        return self._verdicts[key]


def _address_refusal(host: str, port: int, policy: AddressPolicy) -> str | None:
    try:
        resolve_permitted(host, port, policy)
    except BlockedAddressError as exc:
        return str(exc)
    except ResolutionError:
        return None  # nothing to connect to; the proxy will say so
    return None


# The guard proxy (layer 3) --------------------------------------------------------------


class _GuardProxy:
    """A forward proxy on loopback that connects only to addresses the policy permits.

    HTTPS (and WebSockets) arrive as CONNECT tunnels; plain HTTP as absolute-form
    requests, forwarded one per connection (`Connection: close` both ways) so that no
    connection is ever reused for another host. A refusal is answered with PROXY_HEADER,
    so the fetcher can tell the proxy's answer from the site's.
    """

    def __init__(self) -> None:
        self.port = 0
        self.policy = AddressPolicy()
        self.blocked: list[str] = []
        self._server: asyncio.Server | None = None

    def begin(self, policy: AddressPolicy) -> None:
        # Fetches are serialized per browser, so the log belongs to the current fetch.
        self.policy = policy
        self.blocked = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        server, self._server = self._server, None
        self.port = 0
        if server is not None:
            server.close()
            server.close_clients()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_TUNNEL_LIFETIME):
                await self._handle(reader, writer)
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            pass  # LimitOverrunError is a ValueError
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line, _, header_block = head[:-4].partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ")
        if method.upper() == "CONNECT":
            host, port = _authority(target)
            upstream = await self._open(host, port, f"CONNECT {target}", writer)
            if upstream is not None:
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await _relay(reader, writer, *upstream)
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            await _refuse(writer, 400, "failed", "only absolute http:// URLs are proxied")
            return
        upstream = await self._open(parts.hostname, parts.port or 80, target, writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        lines = [f"{method} {path} {version}".encode("latin-1")]
        lines += [h for h in header_block.split(b"\r\n") if h and _name(h) not in _HOP_BY_HOP]
        lines.append(b"Connection: close")
        up_writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        await up_writer.drain()
        await _relay(reader, writer, up_reader, up_writer, close_response=True)

    async def _open(
        self, host: str, port: int, label: str, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(None, resolve_permitted, host, port, self.policy)
        except BlockedAddressError as exc:
            self.blocked.append(f"{label}: {exc}")
            logger.info("browser connection blocked: %s: %s", label, exc)
            await _refuse(writer, 403, "blocked", str(exc))
            return None
        except ResolutionError as exc:
            await _refuse(writer, 502, "failed", str(exc))
            return None
        for address in addresses:
            # The address we checked is the address we connect to: no DNS rebinding.
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(_PROXY_CONNECT_TIMEOUT):
                    return await asyncio.open_connection(address, port, limit=_HEAD_LIMIT)
        await _refuse(writer, 502, "failed", f"cannot connect to {host} port {port}")
        return None


def _authority(target: str) -> tuple[str, int]:
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest.removeprefix(":"))
    host, _, port = target.rpartition(":")
    return host, int(port)


def _name(header_line: bytes) -> bytes:
    return header_line.split(b":", 1)[0].strip().lower()


async def _refuse(writer: asyncio.StreamWriter, status: int, verdict: str, detail: str) -> None:
    detail = " ".join(detail.split())
    body = detail.encode()
    head = (
        f"HTTP/1.1 {status} {'Forbidden' if status == 403 else 'Bad Gateway'}\r\n"
        f"{PROXY_HEADER}: {verdict}: {detail}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1", "replace") + body)
    await writer.drain()


async def _relay(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    *,
    close_response: bool = False,
) -> None:
    async def downstream() -> None:
        if close_response:
            head = await up_reader.readuntil(b"\r\n\r\n")
            lines = [h for h in head[:-4].split(b"\r\n") if _name(h) not in _HOP_BY_HOP]
            client_writer.write(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n")
        await _copy(up_reader, client_writer)

    tasks = [
        asyncio.ensure_future(_copy(client_reader, up_writer)),
        asyncio.ensure_future(downstream()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        up_writer.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()


# Processes -------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses; the fields after it do not.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _children(pid: int | None) -> list[int]:
    if pid is None:
        return []
    return sorted(child for child, parent in _parents().items() if parent == pid)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, parents first (from /proc; Linux only)."""
    parents = _parents()
    if pid not in parents:
        return []
    tree = [pid]
    for current in tree:
        tree.extend(sorted(child for child, parent in parents.items() if parent == current))
    return tree


def _is_driver(pid: int) -> bool:
    try:
        return b"run-driver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_tree(pid: int) -> None:
    for member in reversed(process_tree(pid)):
        with contextlib.suppress(OSError):
            os.kill(member, signal.SIGKILL)
