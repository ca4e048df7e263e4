"""The Wayback Machine as Clausewatch uses it: CDX queries, raw capture URLs, the archive's
own error pages, and the request rates it tolerates.

Pure: no Django and no I/O. `snapshots.backfill` sends the requests (through the project's
fetcher, so the SSRF guard, size caps and timeouts apply) and records what they return.

- CDX: https://github.com/internetarchive/wayback/tree/master/wayback-cdx-server. With
  `output=json` the answer is a JSON array whose first row names the fields; a `[]` row
  followed by `[key]` is the resume key when `limit` cut the list short. `collapse=digest`
  drops a capture whose body is byte-identical to the one before it (adjacent only).
- Captures are fetched in the `id_` mode (`/web/<timestamp>id_/<original>`): the body as
  crawled, without the replay toolbar or rewritten links, so extraction sees what a live
  check would have seen.
- The archive throttles per IP (the CDX API at roughly a request a second averaged over
  minutes, captures more loosely) and answers 429 when pushed; `RateLimiter` keeps us
  well under that and lets a 429's Retry-After hold every later request back.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

if TYPE_CHECKING:
    from snapshots.throttle import HostThrottle

CDX_FIELDS = ("timestamp", "original", "statuscode", "digest", "mimetype")
TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"
_TIMESTAMP = re.compile(r"^\d{14}$")
_CAPTURE_PATH = re.compile(r"^/web/(\d{14})([a-z]{2}_)?/(.+)$", re.DOTALL)

# What the archive serves instead of a capture. In the `id_` mode a capture that was a
# redirect at crawl time is a 302, but replay pages, older deployments and mirrors answer
# with these pages (often with status 200), which must never become a version.
_ARCHIVE_ERRORS = tuple(
    (re.compile(pattern.replace(" ", r"\s+"), re.IGNORECASE), what)
    for pattern, what in (
        (r"Got an HTTP 30\d response at crawl time", "a redirect notice"),
        (r"Wayback Machine has not archived that URL", "a 'not archived' page"),
        (r"Wayback Machine doesn.t have that page archived", "a 'not archived' page"),
        (r"This URL has been excluded from the Wayback Machine", "an exclusion page"),
        (r"snapshot cannot be displayed due to an internal error", "an error page"),
        (r"Page cannot be (?:crawled or )?displayed due to robots\.txt", "a robots.txt page"),
    )
)


class CdxError(ValueError):
    """The CDX server answered something that is not a list of captures."""


@dataclass(frozen=True)
class Capture:
    """One CDX row: a crawl of `original` at `timestamp` (UTC, yyyyMMddhhmmss)."""

    timestamp: str
    original: str
    statuscode: str = "200"
    digest: str = ""
    mimetype: str = ""

    @property
    def captured_at(self) -> datetime:
        return timestamp_datetime(self.timestamp)


@dataclass(frozen=True)
class CdxPage:
    captures: list[Capture]
    resume_key: str | None = None


def timestamp_datetime(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)


def datetime_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _bound(moment: date | datetime, *, end: bool) -> str:
    if isinstance(moment, datetime):
        return datetime_timestamp(moment)
    # A date is the whole day: `from` its first second, `to` its last.
    return moment.strftime("%Y%m%d") + ("235959" if end else "000000")


def cdx_query_url(
    base_url: str,
    url: str,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    limit: int | None = None,
    resume_key: str | None = None,
) -> str:
    """The CDX query for the successful, byte-distinct captures of exactly `url`."""
    params = [
        ("url", url),
        ("output", "json"),
        ("filter", "statuscode:200"),
        ("collapse", "digest"),
        ("fl", ",".join(CDX_FIELDS)),
    ]
    if since is not None:
        params.append(("from", _bound(since, end=False)))
    if until is not None:
        params.append(("to", _bound(until, end=True)))
    if limit:
        params += [("limit", str(limit)), ("showResumeKey", "true")]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return f"{base_url.rstrip('/')}/cdx/search/cdx?{urlencode(params)}"


def parse_cdx(body: bytes | str) -> CdxPage:
    """The captures of one CDX JSON answer, oldest first; CdxError for anything else."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(body)
    except ValueError:
        start = body.strip()[:60]
        raise CdxError(f"the CDX answer is not JSON (it starts with {start!r})") from None
    if not isinstance(data, list):
        raise CdxError(f"the CDX answer is a JSON {type(data).__name__}, not a list of rows")
    if not data:
        return CdxPage([])
    header = data[0]
    if not _strings(header) or not {"timestamp", "original"} <= set(header):
        raise CdxError(f"the CDX answer has no field header (first row {str(header)[:80]})")
    index = {name: header.index(name) for name in header}
    captures: list[Capture] = []
    resume_key = None
    rows = data[1:]
    for n, row in enumerate(rows):
        if row == []:
            # `[]` then `[resume key]` closes a list cut short by `limit`.
            tail = rows[n + 1 :]
            if len(tail) != 1 or not _strings(tail[0]) or len(tail[0]) != 1:
                raise CdxError("the CDX answer has a malformed resume key")
            resume_key = tail[0][0]
            break
        if not _strings(row) or len(row) != len(header):
            raise CdxError(f"CDX row {n + 1} does not match the header: {str(row)[:120]}")
        fields = {name: row[i] for name, i in index.items()}
        if not _TIMESTAMP.match(fields["timestamp"]):
            raise CdxError(f"CDX row {n + 1} has a bad timestamp {fields['timestamp']!r}")
        if fields.get("statuscode", "200") != "200":
            continue  # we asked for 200s only; a server that ignores the filter is not trusted
        captures.append(
            Capture(
                timestamp=fields["timestamp"],
                original=fields["original"],
                statuscode=fields.get("statuscode", "200"),
                digest=fields.get("digest", ""),
                mimetype=fields.get("mimetype", ""),
            )
        )
    return CdxPage(ordered_captures(captures), resume_key)


def _strings(row: object) -> bool:
    return isinstance(row, list) and all(isinstance(x, str) for x in row)


def ordered_captures(captures: list[Capture]) -> list[Capture]:
    """Oldest first, each (timestamp, original) once: pages of one listing may overlap."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c in sorted(captures, key=lambda c: c.timestamp):
        if (c.timestamp, c.original) not in seen:
            seen.add((c.timestamp, c.original))
            out.append(c)
    return out


def capture_url(base_url: str, timestamp: str, original: str) -> str:
    """The raw (`id_`) capture: the body as crawled, without the replay toolbar."""
    return f"{base_url.rstrip('/')}/web/{timestamp}id_/{original}"


@dataclass(frozen=True)
class CaptureRef:
    timestamp: str
    original: str
    raw: bool  # the `id_` mode

    @property
    def captured_at(self) -> datetime:
        return timestamp_datetime(self.timestamp)


def parse_capture_url(url: str, base_url: str) -> CaptureRef | None:
    """The capture a URL on the archive points at, or None for any other URL."""
    base = urlsplit(base_url)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc.lower()) != (base.scheme, base.netloc.lower()):
        return None
    prefix = base.path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return None
    match = _CAPTURE_PATH.match(parts.path[len(prefix) :])
    if not match:
        return None
    original = match.group(3) + (f"?{parts.query}" if parts.query else "")
    return CaptureRef(match.group(1), original, raw=match.group(2) == "id_")


def archive_error(text: str) -> str | None:
    """What kind of archive page `text` is, if it is the archive talking rather than a capture."""
    for pattern, what in _ARCHIVE_ERRORS:
        if pattern.search(text):
            return what
    return None


def archive_host(base_url: str) -> str:
    return (urlsplit(base_url).hostname or "").lower()


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Seconds before retry `attempt` (0-based): base, 2·base, 4·base… up to cap."""
    return min(cap, base * 2**attempt)


class OffArchiveError(Exception):
    """A capture redirected away from the archive (to the live site or elsewhere)."""

    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host

    def __str__(self) -> str:
        return f"the capture redirected away from the archive, to {self.host}"


class RateLimiter:
    """At most `calls` requests per `period` seconds, evenly spaced; `pause()` holds all back.

    It has the `wait(host)` of `snapshots.throttle.HostThrottle`, so `fetch()` consults it
    before every attempt, retries and redirect hops included. Thread-safe: callers queue.
    The archive counts arrivals, and a request can be held up on its way (a busy CPU, a
    slow connect) while the next one is not; so each slot counts from when the previous
    request *finished* (`done()`), which it cannot have before it arrived. Arrivals are
    then at least `period / calls` apart whatever the delays (plus 1% for clock rounding).
    With `shared` (a Redis throttle), processes that share it also share the rate.
    """

    SLACK = 1.01

    def __init__(
        self,
        calls: float,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shared: HostThrottle | None = None,
        key: str = "wayback",
    ) -> None:
        if calls <= 0 or period <= 0:
            raise ValueError("a rate needs positive calls and period")
        self.interval = period / calls * self.SLACK
        self.clock = clock
        self.sleep = sleep
        self._shared = shared
        self._key = key
        self._last: float | None = None
        self._not_before = -math.inf
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds slept, for reports

    def wait(self, host: str = "") -> None:
        with self._lock:
            now = self.clock()
            start = self._not_before
            if self._last is not None:
                start = max(start, self._last + self.interval)
            if start > now:
                self.sleep(start - now)
                self.waited += start - now
            if self._shared is not None:
                self._shared.wait(self._key)
            self._last = max(self.clock(), start)

    def done(self) -> None:
        """The request let through by the last `wait()` has finished."""
        with self._lock:
            self._last = max(self._last if self._last is not None else -math.inf, self.clock())

    def pause(self, seconds: float) -> None:
        """No request before `seconds` from now (a 429's Retry-After, a back-off)."""
        with self._lock:
            self._not_before = max(self._not_before, self.clock() + seconds)


class ArchiveGate:
    """The throttle handed to `fetch()` for archive requests: rate-limited, archive-only.

    `fetch()` follows redirects itself and asks its throttle before each hop, so refusing
    here stops a capture that redirects to the live site before that site is requested
    (a live page recorded as history would be a false record).
    """

    def __init__(self, limiter: RateLimiter, host: str) -> None:
        self.limiter = limiter
        self.host = host.lower()

    def wait(self, host: str) -> None:
        if host.lower() != self.host:
            raise OffArchiveError(host)
        self.limiter.wait(host)
