"""Fetch one document URL: bounded in time and size, polite, and safe to point anywhere.

Pure (no Django): the snapshot task builds `FetchSettings` from settings, keeps one
`make_client()` per worker process, and calls `fetch()` per document check.
Redirects are followed here, one hop at a time, so that every hop is validated,
throttled and counted; the network guard lives in `snapshots.net_guard`.
"""

from __future__ import annotations

import codecs
import dataclasses
import random
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING

import charset_normalizer
import httpx

from snapshots.net_guard import (
    AddressPolicy,
    BlockedAddressError,
    GuardedClient,
    GuardedTransport,
    InvalidURLError,
    ResolutionError,
    check_url,
    deadline_scope,
    resolve_permitted,
)
from snapshots.throttle import HostThrottle

if TYPE_CHECKING:
    import ssl

__all__ = [
    "AddressPolicy",
    "FetchError",
    "FetchResult",
    "FetchSettings",
    "HostThrottle",
    "build_user_agent",
    "decode_body",
    "fetch",
    "make_client",
    "parse_retry_after",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Only what _ContentDecoder can inflate in bounded steps.
_ACCEPT_ENCODING = "gzip, deflate"
_INFLATE_STEP = 64 * 1024
# Redirect and error bodies are drained up to this much so the connection can be reused.
_DRAIN_LIMIT = 64 * 1024
_META_SCAN_BYTES = 4096


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str
    accept_language: str
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10
    read_timeout: float = 20
    total_timeout: float = 60
    max_redirects: int = 5
    retries: int = 2
    backoff_base: float = 0.5
    max_retry_after: float = 30
    policy: AddressPolicy = field(default_factory=AddressPolicy)


@dataclass(frozen=True)
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool
    redirected_offsite: bool
    redirects: list[str]
    elapsed_ms: int
    attempts: int


@dataclass(eq=False)
class FetchError(Exception):
    """A fetch that produced no usable response; `kind` says why."""

    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None
    final_url: str | None = None

    def __post_init__(self) -> None:
        # Exception pickling (Celery results) rebuilds the error from args.
        super().__init__(self.kind, self.message, self.status, self.retry_after, self.final_url)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def build_user_agent(contact_url: str, version: str = "0.1") -> str:
    return f"Clausewatch/{version} (+{contact_url})"


def make_client(
    settings: FetchSettings,
    *,
    # httpcore rescans every pooled connection on each request and each response close, so a
    # big idle pool costs milliseconds per fetch; a worker fetches one page at a time, and
    # per-host politeness means a connection is rarely reused soon anyway.
    max_connections: int = 32,
    max_keepalive_connections: int = 8,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """A pooled HTTP/1.1 client for many fetches; thread-safe, so one per worker process."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive_connections,
        keepalive_expiry=30,
    )
    return GuardedClient(
        settings.policy,
        transport=GuardedTransport(settings.policy, limits=limits, ssl_context=ssl_context),
        follow_redirects=False,
        trust_env=False,  # an environment proxy would sidestep the address guard
        timeout=_timeouts(settings, settings.total_timeout),
        cookies=_refuse_all_cookies(),
    )


def fetch(
    url: str,
    *,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    throttle: HostThrottle | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """GET `url`; 2xx, 304 and 4xx other than 429 return a result, the rest raise FetchError.

    `attempts` counts every request sent, across redirect hops and retries. Pass a
    client from make_client(): with any other client the address check happens
    before connecting (leaving a DNS-rebinding window) and the total deadline is
    only checked between body chunks, not inside a read of dripped headers.
    """
    run = _Run(settings=settings, throttle=throttle, sleep=sleep, etag=etag, modified=last_modified)
    own_client = client is None
    if client is None:
        client = make_client(settings)
    try:
        with deadline_scope(run.deadline):
            response, body, final_url, hops = _follow(url, client, run)
    finally:
        if own_client:
            client.close()
    return _result(url, response, body, final_url, hops, run)


@dataclass
class _Run:
    """The mutable state of one fetch call."""

    settings: FetchSettings
    throttle: HostThrottle | None
    sleep: Callable[[float], None]
    etag: str | None
    modified: str | None
    started: float = field(default_factory=time.monotonic)
    attempts: int = 0
    retries_used: int = 0
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)

    @property
    def deadline(self) -> float:
        return self.started + self.settings.total_timeout

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check_deadline(self, url: httpx.URL) -> None:
        if self.remaining() <= 0:
            message = f"total deadline of {self.settings.total_timeout}s exceeded"
            raise FetchError("timeout", message, final_url=str(url))


def _follow(
    url: str, client: httpx.Client, run: _Run
) -> tuple[httpx.Response, bytes, str, list[str]]:
    current = _checked_url(url)
    # A GuardedClient checks at connect time; any other client gets a check up front.
    precheck = getattr(client, "address_policy", None) != run.settings.policy
    seen = {_visit_key(current, run.cookies)}
    hops: list[str] = []
    while True:
        if precheck:
            _check_address(current, run.settings.policy)
        response, body = _send_with_retries(client, current, run)
        location = response.headers.get("location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return response, body, str(current), hops
        target = _checked_url(current.join(location), final_url=str(current))
        # The same URL with the same cookies can only produce the same redirect again.
        key = _visit_key(target, run.cookies)
        if key in seen:
            raise FetchError(
                "redirect_loop", f"redirect loop back to {target}", final_url=str(target)
            )
        if len(hops) >= run.settings.max_redirects:
            message = f"more than {run.settings.max_redirects} redirects"
            raise FetchError("too_many_redirects", message, final_url=str(current))
        seen.add(key)
        hops.append(str(target))
        current = target


def _visit_key(url: httpx.URL, cookies: httpx.Cookies) -> tuple[str, frozenset[tuple[str, ...]]]:
    jar = frozenset((c.domain, c.path, c.name, c.value or "") for c in cookies.jar)
    return str(url), jar


def _checked_url(url: str | httpx.URL, final_url: str | None = None) -> httpx.URL:
    try:
        return check_url(url)
    except InvalidURLError as exc:
        raise FetchError("invalid_url", str(exc), final_url=final_url) from None


def _check_address(url: httpx.URL, policy: AddressPolicy) -> None:
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        resolve_permitted(url.host, port, policy)
    except BlockedAddressError as exc:
        raise FetchError("blocked_address", str(exc), final_url=str(url)) from None
    except ResolutionError as exc:
        raise FetchError("connection", str(exc), final_url=str(url)) from None


def _send_with_retries(
    client: httpx.Client, url: httpx.URL, run: _Run
) -> tuple[httpx.Response, bytes]:
    while True:
        if run.throttle is not None:
            run.throttle.wait(url.host)
        run.check_deadline(url)
        run.attempts += 1
        try:
            response, body = _send_once(client, url, run)
        except httpx.TimeoutException as exc:
            failure = FetchError("timeout", f"{type(exc).__name__}: {exc}", final_url=str(url))
        except httpx.TransportError as exc:
            failure = FetchError("connection", f"{type(exc).__name__}: {exc}", final_url=str(url))
        except BlockedAddressError as exc:
            raise FetchError("blocked_address", str(exc), final_url=str(url)) from None
        else:
            failure = _status_failure(response, url)
            if failure is None:
                return response, body
        run.check_deadline(url)
        _pause_before_retry(failure, run)


def _send_once(client: httpx.Client, url: httpx.URL, run: _Run) -> tuple[httpx.Response, bytes]:
    request = client.build_request(
        "GET", url, headers=_request_headers(run), timeout=_timeouts(run.settings, run.remaining())
    )
    run.cookies.set_cookie_header(request)
    response = _send(client, request, url)
    try:
        run.cookies.extract_cookies(response)
        status = response.status_code
        if status in REDIRECT_STATUSES or status == 429 or status >= 500:
            _drain(response)
            return response, b""
        return response, _read_body(response, run.settings.max_bytes, run, url)
    finally:
        response.close()


def _send(client: httpx.Client, request: httpx.Request, url: httpx.URL) -> httpx.Response:
    # Even when not following, httpx builds the next request of every redirect, and
    # fails on a Location it cannot use; that is the server's bad URL, not a network
    # error worth retrying.
    try:
        return client.send(request, stream=True)
    except httpx.InvalidURL as exc:
        raise FetchError("invalid_url", f"unusable redirect: {exc}", final_url=str(url)) from None
    except httpx.RemoteProtocolError as exc:
        if "location header" not in str(exc).lower():
            raise
        raise FetchError("invalid_url", str(exc), final_url=str(url)) from None


def _request_headers(run: _Run) -> dict[str, str]:
    headers = {
        "User-Agent": run.settings.user_agent,
        "Accept": _ACCEPT,
        "Accept-Language": run.settings.accept_language,
        "Accept-Encoding": _ACCEPT_ENCODING,
    }
    if run.etag:
        headers["If-None-Match"] = run.etag
    if run.modified:
        headers["If-Modified-Since"] = run.modified
    return headers


def _timeouts(settings: FetchSettings, remaining: float) -> httpx.Timeout:
    remaining = max(remaining, 0.001)
    connect = min(settings.connect_timeout, remaining)
    read = min(settings.read_timeout, remaining)
    return httpx.Timeout(connect=connect, read=read, write=read, pool=connect)


def _refuse_all_cookies() -> httpx.Cookies:
    # The client is shared by every fetch; cookies live in each fetch's own jar instead.
    return httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


def _status_failure(response: httpx.Response, url: httpx.URL) -> FetchError | None:
    status = response.status_code
    if status != 429 and status < 500:
        return None
    kind = "rate_limited" if status == 429 else "server_error"
    return FetchError(
        kind,
        f"HTTP {status}",
        status=status,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        final_url=str(url),
    )


def _pause_before_retry(failure: FetchError, run: _Run) -> None:
    """Sleep before the next attempt, or raise `failure` if there should be none."""
    settings = run.settings
    retry_after = failure.retry_after
    if retry_after is not None and retry_after > min(settings.max_retry_after, run.remaining()):
        message = f"{failure.message}, Retry-After {retry_after:g}s is longer than we wait"
        raise dataclasses.replace(failure, message=message)
    if run.retries_used >= settings.retries:
        raise dataclasses.replace(
            failure, message=f"{failure.message} after {run.attempts} attempts"
        )
    if retry_after is None:
        full = settings.backoff_base * 2**run.retries_used
        delay = full / 2 + random.uniform(0, full / 2)  # jitter spreads out workers
    else:
        delay = retry_after
    if delay >= run.remaining():
        raise dataclasses.replace(failure, message=f"{failure.message}, no time left to retry")
    run.retries_used += 1
    run.sleep(delay)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _drain(response: httpx.Response) -> None:
    # Reading a small body lets the pooled connection be reused; a big one is cut off.
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > _DRAIN_LIMIT:
                return
    except httpx.TransportError:
        return


def _read_body(response: httpx.Response, max_bytes: int, run: _Run, url: httpx.URL) -> bytes:
    declared = _content_length(response)
    if declared is not None and declared > max_bytes:
        message = f"Content-Length {declared} exceeds the {max_bytes} byte cap"
        raise FetchError("too_large", message, status=response.status_code, final_url=str(url))
    chunks: list[bytes] = []
    size = 0
    for piece in _decoded_chunks(response, max_bytes, run, url):
        size += len(piece)
        if size > max_bytes:
            message = f"body exceeds the {max_bytes} byte cap once decoded"
            raise FetchError("too_large", message, status=response.status_code, final_url=str(url))
        chunks.append(piece)
    return b"".join(chunks)


def _decoded_chunks(
    response: httpx.Response, max_bytes: int, run: _Run, url: httpx.URL
) -> Iterator[bytes]:
    decoder = _ContentDecoder(response.headers.get("content-encoding", ""), url)
    raw_size = 0
    for raw in response.iter_raw():
        run.check_deadline(url)
        raw_size += len(raw)
        if raw_size > max_bytes:
            message = f"body exceeds the {max_bytes} byte cap"
            raise FetchError("too_large", message, status=response.status_code, final_url=str(url))
        yield from decoder.feed(raw)
    yield decoder.flush()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


class _ContentDecoder:
    """Inflates gzip/deflate in steps of at most _INFLATE_STEP output bytes.

    httpx's own decoder inflates each network read in one go, so a single 64 KB read
    of a gzip bomb could become ~64 MB before the size cap gets to count it.
    """

    def __init__(self, content_encoding: str, url: httpx.URL) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c not in ("", "identity")]
        self._url = url
        self._coding = codings[0] if codings else None
        if len(codings) > 1 or self._coding not in (None, "gzip", "x-gzip", "deflate"):
            raise FetchError(
                "decode", f"unsupported Content-Encoding {content_encoding!r}", final_url=str(url)
            )
        self._zlib = self._new_inflater()
        self._started = False

    def _new_inflater(self, raw_deflate: bool = False) -> zlib._Decompress:
        if raw_deflate:
            return zlib.decompressobj(-zlib.MAX_WBITS)
        # 32 + window detects a gzip or zlib header; "deflate" is meant to be zlib-wrapped
        # but some servers send it bare, which feed() retries with raw_deflate.
        return zlib.decompressobj(32 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._coding is None:
            yield data
            return
        while data:
            if self._zlib.eof:
                # Concatenated gzip members are one body; anything else after the end is junk.
                if self._coding == "deflate" or not data.startswith(b"\x1f\x8b"):
                    return
                self._zlib = self._new_inflater()
            try:
                out = self._zlib.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                if self._coding == "deflate" and not self._started:
                    self._zlib = self._new_inflater(raw_deflate=True)  # headerless deflate
                    self._started = True
                    continue
                raise FetchError(
                    "decode", f"corrupt {self._coding} body: {exc}", final_url=str(self._url)
                ) from None
            self._started = True
            data = self._zlib.unconsumed_tail or (self._zlib.unused_data if self._zlib.eof else b"")
            if out:
                yield out

    def flush(self) -> bytes:
        return self._zlib.flush() if self._coding is not None and not self._zlib.eof else b""


def _result(
    url: str, response: httpx.Response, body: bytes, final_url: str, hops: list[str], run: _Run
) -> FetchResult:
    headers = {name.lower(): value for name, value in response.headers.items()}
    media_type, charset = _parse_content_type(headers.get("content-type"))
    not_modified = response.status_code == 304
    etag = headers.get("etag")
    last_modified = headers.get("last-modified")
    if not_modified:  # a 304 need not repeat the validators; the ones we sent still hold
        etag = etag or run.etag
        last_modified = last_modified or run.modified
    return FetchResult(
        url=url,
        final_url=final_url,
        status=response.status_code,
        headers=headers,
        body=body,
        content_type=media_type,
        charset=charset,
        etag=etag,
        last_modified=last_modified,
        not_modified=not_modified,
        redirected_offsite=_site(httpx.URL(url).host) != _site(httpx.URL(final_url).host),
        redirects=hops,
        elapsed_ms=round((time.monotonic() - run.started) * 1000),
        attempts=run.attempts,
    )


def _site(host: str) -> str:
    return host.lower().rstrip(".").removeprefix("www.")


def _parse_content_type(value: str | None) -> tuple[str, str | None]:
    """Media type (lower-case, '' if none) and the charset parameter, if any."""
    if not value:
        return "", None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, param_value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = param_value.strip().strip("\"'").lower() or None
    return media_type.strip().lower(), charset


# Charset detection ---------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Matches <meta charset=x> and the charset= inside <meta http-equiv=... content=...>.
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:+-]+)""")
# Browsers read these labels as windows-1252 (WHATWG Encoding), and so must we to
# show what a reader saw: curly quotes in "iso-8859-1" pages are really cp1252.
_READ_AS_WINDOWS_1252 = frozenset({"iso8859-1", "ascii"})  # codecs' names for their labels


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode a document body, returning (text, the Python codec name used).

    `content_type` is the whole Content-Type header value, charset parameter included.

    Order: byte-order mark, Content-Type charset, <meta>/XML declaration in the first
    few KB, strict UTF-8, charset-normalizer; a declared charset that does not
    decode is skipped rather than trusted. Never raises.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace"), encoding
    head = body[:_META_SCAN_BYTES]
    declared = [
        _parse_content_type(content_type)[1],
        *(
            m.group(1).decode("ascii")
            for m in (_META_CHARSET.search(head), _XML_ENCODING.search(head))
            if m
        ),
        "utf-8",
    ]
    for label in declared:
        decoded = _try_decode(body, label)
        if decoded is not None:
            return decoded
    # A mostly-ASCII page that is not valid in its declared charset is, in practice, a
    # Western page in windows-1252 (as browsers assume); sniffing a few accented letters
    # is guesswork (it reads "à" as cp1250 "ŕ"). Sniff only heavily non-ASCII bodies.
    non_ascii = sum(1 for byte in body if byte > 0x7F)
    if non_ascii <= len(body) // 10:
        decoded = _try_decode(body, "windows-1252")
        if decoded is not None:
            return decoded
    best = charset_normalizer.from_bytes(body).best()
    if best is not None:
        return str(best), codecs.lookup(best.encoding).name
    return body.decode("utf-8", errors="replace"), "utf-8"


def _try_decode(body: bytes, label: str | None) -> tuple[str, str] | None:
    if not label:
        return None
    try:
        encoding = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    if encoding in _READ_AS_WINDOWS_1252:
        encoding = "cp1252"
    try:
        return body.decode(encoding), encoding
    except UnicodeDecodeError:
        return None
