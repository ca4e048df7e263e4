"""A Wayback Machine on loopback: a CDX API and a raw-capture server, for tests and the bench.

It serves real histories (corpus texts wrapped in noisy HTML, see `add_history`) the way
web.archive.org does: CDX JSON with a header row, `filter`, `collapse=digest` (adjacent
byte-identical captures only), `from`/`to`, `limit` with a resume key; captures at
`/web/<timestamp>id_/<original>`, a 302 to the nearest capture for an inexact timestamp,
a 404 "Hrm." page for a URL it never archived. And it misbehaves on request:
`cdx_script` (one-shot answers: garbage, 429, 500), captures that redirect, error pages,
`capture_script`, `fail_captures_after`. Every request is logged with its arrival time (time.monotonic()),
so the bench can measure the rates the archive saw.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from tests.pages import wrap_in_noisy_html

REDIRECT_NOTICE = """<!DOCTYPE html><html><head><title>Wayback Machine</title></head><body>
<div id="positionHome"><section><div id="error"><p class="code shift red">Got an HTTP 302
response at crawl time</p><p class="code">Redirecting to...</p>
<p class="impatient"><a href="https://docs.example/login">https://docs.example/login</a></p>
</div></section></div></body></html>"""

NOT_ARCHIVED = """<!DOCTYPE html><html><head><title>Wayback Machine</title></head><body>
<div id="error"><h2>Hrm.</h2><p>The Wayback Machine has not archived that URL.</p>
<p>This page is not available on the web because the page does not exist</p></div>
</body></html>"""

_CAPTURE_PATH = re.compile(r"^/web/(\d{14})(id_)?/(.+)$", re.DOTALL)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def digest(body: bytes) -> str:
    # The archive's digest: base32 of the body's SHA-1.
    return base64.b32encode(hashlib.sha1(body).digest()).decode()  # noqa: S324


def _url_key(url: str) -> str:
    # A rough SURT: the archive matches URLs without scheme, "www." or a trailing slash.
    url = re.sub(r"^[a-z]+://", "", url.lower())
    return url.removeprefix("www.").rstrip("/")


@dataclass
class FakeCapture:
    timestamp: str
    original: str
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    redirect_to: str | None = None  # 302 to this timestamp's capture (a crawl-time redirect)
    location: str | None = None  # 302 to any URL (a misbehaving archive)
    listed: bool = True  # in the CDX index
    statuscode: str = "200"  # what the index says the crawl got

    @property
    def digest(self) -> str:
        return digest(self.body)

    @property
    def mimetype(self) -> str:
        return self.content_type.split(";")[0]


@dataclass
class FakeClock:
    """An injectable monotonic clock whose sleep only moves time forward."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeWayback:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.captures: list[FakeCapture] = []
        self.cdx_script: list[Response | Callable[[Request], Response]] = []
        self.capture_script: list[Response] = []  # one-shot answers to the next capture requests
        self.cdx_log: list[tuple[float, dict[str, list[str]]]] = []
        self.capture_log: list[tuple[float, str, int]] = []
        self.fail_captures_after: int | None = None  # then every capture request gets 503
        self._lock = threading.Lock()
        server.expect_request(re.compile(r"^/cdx/search/cdx$")).respond_with_handler(self._cdx)
        server.expect_request(re.compile(r"^/web/")).respond_with_handler(self._capture)

    @property
    def base_url(self) -> str:
        return f"http://{self.server.host}:{self.server.port}"

    def capture_url(self, ts: str, original: str) -> str:
        return f"{self.base_url}/web/{ts}id_/{original}"

    def add(self, when: datetime | str, original: str, html: str | bytes, **kw) -> FakeCapture:
        ts = when if isinstance(when, str) else timestamp(when)
        body = html.encode() if isinstance(html, str) else html
        capture = FakeCapture(ts, original, body, **kw)
        self.captures.append(capture)
        return capture

    def add_history(
        self, original: str, versions: Sequence[tuple[datetime, str]], *, seed: int = 0
    ) -> list[FakeCapture]:
        """Each text captured at its time, then re-captured twice before the next one.

        The first re-capture has other noise (another digest, same text: the backfill must
        see it is a duplicate); the second is byte-identical to it (same digest: CDX
        `collapse=digest` hides it).
        """
        out = []
        for n, (when, text) in enumerate(versions):
            following = versions[n + 1][0] if n + 1 < len(versions) else when + timedelta(days=1)
            gap = following - when
            out.append(self.add(when, original, wrap_in_noisy_html(text, seed=seed + 3 * n)))
            if gap >= timedelta(seconds=3):
                again = wrap_in_noisy_html(text, seed=seed + 3 * n + 1)
                out.append(self.add(when + gap / 3, original, again))
                out.append(self.add(when + 2 * gap / 3, original, again))
        return out

    @property
    def capture_requests(self) -> int:
        return len(self.capture_log)

    # --- handlers ------------------------------------------------------------------------------

    def _cdx(self, request: Request) -> Response:
        with self._lock:
            self.cdx_log.append((time.monotonic(), request.args.to_dict(flat=False)))
            scripted = self.cdx_script.pop(0) if self.cdx_script else None
        if isinstance(scripted, Response):
            return scripted
        if scripted is not None:
            return scripted(request)
        args = request.args
        key = _url_key(args.get("url", ""))
        rows = sorted(
            (c for c in self.captures if c.listed and _url_key(c.original) == key),
            key=lambda c: c.timestamp,
        )
        for spec in args.getlist("filter"):
            negate = spec.startswith("!")
            name, _, pattern = spec.lstrip("!").partition(":")
            rows = [r for r in rows if bool(re.fullmatch(pattern, _field(r, name))) != negate]
        if args.get("from"):
            rows = [r for r in rows if r.timestamp >= args["from"].ljust(14, "0")]
        if args.get("to"):
            rows = [r for r in rows if r.timestamp <= args["to"].ljust(14, "9")]
        if "digest" in args.getlist("collapse"):
            rows = [r for n, r in enumerate(rows) if n == 0 or rows[n - 1].digest != r.digest]
        if args.get("resumeKey"):
            after = args["resumeKey"].rstrip("!")
            rows = [r for r in rows if r.timestamp > after]
        limit = int(args.get("limit", 0) or 0)
        more = bool(limit) and len(rows) > limit
        page = rows[:limit] if limit else rows
        fields = args.get("fl", "urlkey,timestamp,original,mimetype,statuscode,digest").split(",")
        # An empty result is `[]`, without even the header row.
        data: list[list[str]] = [fields] if page else []
        data += [[_field(r, name) for name in fields] for r in page]
        if more and args.get("showResumeKey") == "true":
            data += [[], [f"{page[-1].timestamp}!"]]
        if args.get("output") == "json":
            return Response(json.dumps(data), content_type="application/json")
        return Response("\n".join(" ".join(row) for row in data[1:]), content_type="text/plain")

    def _capture(self, request: Request) -> Response:
        arrived = time.monotonic()
        response = self._capture_response(request)
        with self._lock:
            self.capture_log.append((arrived, request.full_path, response.status_code))
        return response

    def _capture_response(self, request: Request) -> Response:
        with self._lock:
            served = len(self.capture_log)
            scripted = self.capture_script.pop(0) if self.capture_script else None
        if scripted is not None:
            return scripted
        if self.fail_captures_after is not None and served >= self.fail_captures_after:
            return Response("Service Unavailable", status=503)
        match = _CAPTURE_PATH.match(request.path)
        if match is None:
            return Response(NOT_ARCHIVED, status=404, content_type="text/html")
        ts, _mode, original = match.groups()
        if request.query_string:
            original += "?" + request.query_string.decode()
        key = _url_key(original)
        same_url = [c for c in self.captures if _url_key(c.original) == key]
        exact = next((c for c in same_url if c.timestamp == ts), None)
        if exact is None:
            if not same_url:
                return Response(NOT_ARCHIVED, status=404, content_type="text/html")
            nearest = min(same_url, key=lambda c: abs(int(c.timestamp) - int(ts)))
            return _redirect(self.capture_url(nearest.timestamp, nearest.original))
        if exact.redirect_to:
            return _redirect(self.capture_url(exact.redirect_to, exact.original))
        if exact.location:
            return _redirect(exact.location)
        return Response(
            exact.body,
            status=exact.status,
            content_type=exact.content_type,
            headers={"Memento-Datetime": _http_date(exact.timestamp)},
        )


def _field(capture: FakeCapture, name: str) -> str:
    if name == "urlkey":
        return _url_key(capture.original)
    return str(getattr(capture, name))


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def _http_date(ts: str) -> str:
    moment = datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@contextmanager
def fake_wayback() -> Iterator[FakeWayback]:
    """A fake archive on its own loopback server (tests use the `wayback` fixture instead)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield FakeWayback(server)
    finally:
        server.clear()
        server.stop()
