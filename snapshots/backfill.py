"""History from the Wayback Machine: `manage.py backfill`, the admin action and its task.

A run lists the document's captures (every CDX page, before anything is written, so a CDX
failure leaves nothing half-done), then takes the captures no earlier run recorded, oldest
first: fetch it raw (`id_`) through the project's fetcher, drop archive error pages and
walls, extract with the document's rules, and place the text in the version chain at the
capture's time. Each capture is one transaction under the document-row lock that
`text_record` takes, and logs one Check (fetcher "wayback") that is also the run's progress.

Placing a capture observed at t with text X, between P (the last version observed at or
before t) and S (the one after it):
- X is P's text: a duplicate, nothing to record.
- X is S's text: S was already there at t. An archive S is re-dated to t (first seen
  earlier); a live S keeps its date, since a live observation is what was cited.
- no S (X would become the current version): appended only if no live check happened since
  P. Otherwise live checks are the authority on the present, and a capture made current
  would make the next check publish, and alert, the live text as a change.
- otherwise X becomes a version V between P and S: S.previous = V, a new change P → V, and
  S's existing change keeps its id (a permalink may be cited), date, kind and publication
  but is rebased to V → S with its diff and analysis recomputed. The part of the old
  P → S diff that the archive shows happened earlier moves to the new P → V change.
Invariants: the chain stays linear and in time order, each version but the first has
exactly one change whose old version is its predecessor, no capture URL is recorded twice.

The live rules, adapted to sparse captures:
- flip-flop: `decisions.decide` replayed over the whole chain after every capture, as if each
  capture had been a check at its time: A → B → A with the return within
  TRACK_FLIP_FLOP_WINDOW of B's first capture retracts A → B and leaves the return
  unpublished; B coming back restores A → B. B's age is measured between captures, so a
  quick A → B → A in the archive is still a flip-flop. Replaying the whole chain makes the
  result independent of the order captures arrive in (a resumed run ends as one run
  would); only changes into archive versions are touched, live decisions stand. A
  historical flip-flop does not mark the document unstable (that flag is about now).
- shrink: a text that lost more than TRACK_SHRINK_THRESHOLD of its words is recorded only
  when the next capture confirms it; unconfirmed, it is skipped (no held versions: no
  later check would come to confirm them). A shrunken last capture waits for a later run.
- error pages, walls and captchas are skipped, not held.
Every change found this way is published with its historical date and never alerted.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from platforms.models import Document
from snapshots import wayback
from snapshots.analysis import analyze_change_texts
from snapshots.decisions import Action, ChangeRef, History, Policy, VersionRef, decide
from snapshots.extract import ExtractError, ExtractRules, extract
from snapshots.fetch import FetchError, FetchResult, FetchSettings, decode_body, fetch
from snapshots.fetching import fetch_settings, http_client
from snapshots.models import (
    Change,
    ChangeKind,
    Check,
    CheckOutcome,
    Version,
    VersionSource,
    VersionState,
)
from snapshots.page_signals import classify_page
from snapshots.recording import (
    change_create,
    current_policy,
    text_sha256,
    version_create,
    word_count,
)
from snapshots.services import EXTRACT_OUTCOMES, document_rules
from snapshots.storage import snapshot_store, snapshots_prune

logger = logging.getLogger(__name__)

WAYBACK_FETCHER = "wayback"  # Check.fetcher of capture fetches: the run's log and progress
_TRANSIENT = frozenset({"rate_limited", "server_error", "timeout", "connection"})
_MAX_CDX_PAGES = 200
_MAX_URL = 2000  # Version.source_url and Check.final_url hold no more


class BackfillError(Exception):
    """The backfill could not run (CDX failure, broken chain); the message says why."""


class ArchiveUnavailable(BackfillError):
    """The archive kept failing, or asked us to wait longer than we do (`wait_too_long`)."""

    def __init__(self, message: str, *, wait_too_long: bool = False) -> None:
        super().__init__(message)
        self.wait_too_long = wait_too_long


# --- the archive ---------------------------------------------------------------------------------


@dataclass
class Archive:
    """Requests to one Wayback Machine, within its rates, retried the way it wants."""

    base_url: str
    cdx_limiter: wayback.RateLimiter
    capture_limiter: wayback.RateLimiter
    cdx_settings: FetchSettings
    capture_settings: FetchSettings
    retries: int = 3
    backoff: float = 5.0
    max_wait: float = 300.0
    page_size: int = 5000
    client: httpx.Client | None = None
    cdx_requests: int = 0

    @classmethod
    def from_settings(
        cls,
        *,
        base_url: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> Archive:
        """The configured archive; with `clock`/`sleep` (tests), its own limiters on them."""
        base = (base_url or settings.WAYBACK_URL).rstrip("/")
        if clock is None and sleep is None:
            cdx, captures = _process_limiters()
        else:
            kwargs = {"clock": clock or time.monotonic, "sleep": sleep or time.sleep}
            cdx = wayback.RateLimiter(settings.WAYBACK_CDX_PER_MINUTE, 60.0, **kwargs)
            captures = wayback.RateLimiter(settings.WAYBACK_CAPTURES_PER_SECOND, 1.0, **kwargs)
        common = fetch_settings()
        timeout = settings.WAYBACK_CDX_TIMEOUT
        return cls(
            base_url=base,
            cdx_limiter=cdx,
            capture_limiter=captures,
            # Retries are ours (below), so that back-offs go through the limiters.
            cdx_settings=dataclasses.replace(
                common, retries=0, read_timeout=timeout, total_timeout=timeout
            ),
            capture_settings=dataclasses.replace(common, retries=0),
            retries=settings.WAYBACK_RETRIES,
            backoff=settings.WAYBACK_BACKOFF,
            max_wait=settings.WAYBACK_MAX_WAIT,
            page_size=settings.WAYBACK_CDX_PAGE_SIZE,
        )

    def capture_url(self, capture: wayback.Capture) -> str:
        return wayback.capture_url(self.base_url, capture.timestamp, capture.original)

    def list_captures(
        self, url: str, *, since: date | None = None, until: date | None = None
    ) -> list[wayback.Capture]:
        """Every capture in the range, all CDX pages read; BackfillError if any page fails."""
        captures: list[wayback.Capture] = []
        key: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_CDX_PAGES):
            query = wayback.cdx_query_url(
                self.base_url, url, since=since, until=until, limit=self.page_size, resume_key=key
            )
            try:
                result = self._get(query, self.cdx_limiter, self.cdx_settings)
            except (FetchError, wayback.OffArchiveError) as exc:
                raise BackfillError(f"the CDX query failed: {exc}") from None
            except ArchiveUnavailable as exc:
                raise ArchiveUnavailable(
                    f"the CDX query failed: {exc}", wait_too_long=exc.wait_too_long
                ) from None
            self.cdx_requests += 1
            if result.status != 200:
                raise BackfillError(f"the CDX server answered HTTP {result.status}")
            try:
                page = wayback.parse_cdx(result.body)
            except wayback.CdxError as exc:
                raise BackfillError(str(exc)) from None
            captures += page.captures
            if page.resume_key is None:
                return wayback.ordered_captures(captures)
            if page.resume_key in seen:
                raise BackfillError("the CDX server repeated a resume key")
            seen.add(page.resume_key)
            key = page.resume_key
        raise BackfillError(f"more than {_MAX_CDX_PAGES} CDX pages; narrow --since/--until")

    def fetch_capture(self, url: str) -> FetchResult:
        return self._get(url, self.capture_limiter, self.capture_settings)

    def _get(
        self, url: str, limiter: wayback.RateLimiter, fetch_settings: FetchSettings
    ) -> FetchResult:
        gate = wayback.ArchiveGate(limiter, wayback.archive_host(self.base_url))
        for attempt in itertools.count():
            try:
                result = fetch(
                    url,
                    settings=fetch_settings,
                    client=self.client or http_client(),
                    throttle=gate,
                    sleep=limiter.sleep,
                )
            except FetchError as exc:
                limiter.done()
                if exc.kind not in _TRANSIENT:
                    raise
                failure = f"{exc.kind}: HTTP {exc.status}" if exc.status else str(exc)
                if attempt >= self.retries:
                    raise ArchiveUnavailable(f"{failure} ({attempt + 1} attempts)") from None
                if exc.retry_after is not None:
                    delay = exc.retry_after
                else:
                    delay = wayback.backoff_delay(attempt, base=self.backoff, cap=self.max_wait)
                if delay > self.max_wait:
                    message = f"{failure}: the archive asks us to wait {delay:.0f}s, try later"
                    raise ArchiveUnavailable(message, wait_too_long=True) from None
                logger.info("wayback: %s, waiting %.1fs before retrying %s", failure, delay, url)
                limiter.pause(delay)
            else:
                limiter.done()
                return result
        raise AssertionError("unreachable")


_limiters_lock = threading.Lock()
_limiters: dict[tuple, tuple[wayback.RateLimiter, wayback.RateLimiter]] = {}


def _process_limiters() -> tuple[wayback.RateLimiter, wayback.RateLimiter]:
    """One pair per process, so concurrent backfills share the archive's rates; with Redis,
    every process of the deployment shares them."""
    key = (
        os.getpid(),
        settings.WAYBACK_CDX_PER_MINUTE,
        settings.WAYBACK_CAPTURES_PER_SECOND,
        settings.REDIS_URL,
    )
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = (
                _limiter(settings.WAYBACK_CDX_PER_MINUTE, 60.0, "cdx"),
                _limiter(settings.WAYBACK_CAPTURES_PER_SECOND, 1.0, "captures"),
            )
        return _limiters[key]


def _limiter(calls: float, period: float, name: str) -> wayback.RateLimiter:
    shared = None
    if settings.REDIS_URL:
        import redis

        from snapshots.throttle import RedisHostThrottle

        interval = period / calls * wayback.RateLimiter.SLACK
        shared = RedisHostThrottle(
            redis.Redis.from_url(settings.REDIS_URL), interval, prefix="clausewatch:wayback:"
        )
    return wayback.RateLimiter(calls, period, shared=shared, key=name)


# --- one run ------------------------------------------------------------------------------------


@dataclass
class BackfillReport:
    document_id: int
    listed: int = 0  # captures the CDX server listed in the range
    already_recorded: int = 0  # done by an earlier run
    fetched: int = 0
    versions: int = 0  # new versions
    redated: int = 0  # archive versions found to be older than recorded
    duplicates: int = 0  # same text as the version next to it
    flip_flops: int = 0  # archive changes kept unpublished as part of an A → B → A
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (capture, why): final
    failed: list[tuple[str, str]] = field(default_factory=list)  # (capture, why): retried next run
    unconfirmed: str = ""  # a shrunken last capture that a later capture may confirm
    stopped: str = ""
    cdx_requests: int = 0

    @property
    def complete(self) -> bool:
        return not self.stopped and not self.failed and not self.unconfirmed

    def summary(self) -> str:
        parts = [
            f"{self.listed} captures listed",
            f"{self.already_recorded} already recorded",
            f"{self.fetched} fetched",
            f"{self.versions} new versions",
            f"{self.redated} re-dated",
            f"{self.duplicates} duplicates",
            f"{self.flip_flops} flip-flop changes",
            f"{len(self.skipped)} skipped",
            f"{len(self.failed)} failed",
        ]
        text = ", ".join(parts)
        if self.stopped:
            text += f"; stopped: {self.stopped}"
        return text


@dataclass(frozen=True)
class _Observation:
    url: str  # the capture asked for
    final_url: str  # the capture served, after redirects between captures
    captured_at: datetime
    text: str
    sha: str
    words: int
    body: bytes
    content_type: str
    encoding: str
    status: int
    duration_ms: int
    detail: str = ""


@dataclass(frozen=True)
class _Skip:
    url: str
    reason: str
    permanent: bool = True
    outcome: str = CheckOutcome.ERROR
    status: int | None = None
    bytes: int = 0
    duration_ms: int = 0
    stop: bool = False


def document_backfill(
    *,
    document_id: int,
    since: date | None = None,
    until: date | None = None,
    archive: Archive | None = None,
) -> BackfillReport:
    """Record the document's history from the archive; safe to rerun, it continues."""
    document = Document.objects.get(pk=document_id)
    archive = archive or Archive.from_settings()
    report = BackfillReport(document_id=document.pk)
    captures = archive.list_captures(document.url, since=since, until=until)
    report.cdx_requests = archive.cdx_requests
    report.listed = len(captures)
    done = _done_urls(document)
    todo = []
    for capture in captures:
        url = archive.capture_url(capture)
        if url in done:
            report.already_recorded += 1
        else:
            todo.append(url)
    rules = document_rules(document)
    policy = current_policy()
    pending: _Observation | None = None  # a shrunken text, until the next capture confirms it
    failures = 0
    for url in todo:
        if url in done:  # an earlier capture redirected here and recorded it
            report.already_recorded += 1
            continue
        seen = _observe(archive, rules, url)
        if isinstance(seen, _Skip):
            if seen.permanent:
                _skip_log(document, seen)
                report.skipped.append((url, seen.reason))
                continue
            report.failed.append((url, seen.reason))
            failures += 1
            if seen.stop or failures >= settings.WAYBACK_MAX_FAILURES:
                report.stopped = f"the archive is failing ({seen.reason}); rerun to continue"
                break
            continue
        failures = 0
        report.fetched += 1
        done.update({seen.url, seen.final_url})
        if pending is not None:
            if seen.sha == pending.sha:
                _record(document, pending, report, policy, detail="confirmed by the next capture")
            else:
                reason = (
                    f"lost more than {policy.shrink_threshold:.0%} of its words and the "
                    "next capture did not confirm it"
                )
                _skip_log(document, _Skip(pending.url, reason, duration_ms=pending.duration_ms))
                report.skipped.append((pending.url, reason))
            pending = None
        if _shrinks(document, seen, policy):
            pending = seen
            continue
        _record(document, seen, report, policy)
    report.flip_flops = Change.objects.filter(
        document=document, kind=ChangeKind.FLIP_FLOP, new_version__source=VersionSource.ARCHIVE
    ).count()
    if pending is not None:
        # Not logged as done: a later run, with a later capture, may confirm it.
        report.unconfirmed = pending.url
        report.failed.append((pending.url, "shrunken text not confirmed by a later capture yet"))
    logger.info("backfill document=%s %s", document.pk, report.summary())
    return report


def _done_urls(document: Document) -> set[str]:
    urls = set(
        Version.objects.filter(document=document, source=VersionSource.ARCHIVE).values_list(
            "source_url", flat=True
        )
    )
    urls.update(
        Check.objects.filter(document=document, fetcher=WAYBACK_FETCHER).values_list(
            "final_url", flat=True
        )
    )
    return urls


def _observe(archive: Archive, rules: ExtractRules, url: str) -> _Observation | _Skip:
    if len(url) > _MAX_URL:
        return _Skip(url, f"the capture URL is longer than {_MAX_URL} characters")
    started = time.monotonic()
    try:
        result = archive.fetch_capture(url)
    except wayback.OffArchiveError as exc:
        return _Skip(url, str(exc))
    except ArchiveUnavailable as exc:
        return _Skip(url, str(exc), permanent=False, stop=exc.wait_too_long)
    except FetchError as exc:
        return _Skip(url, f"the capture could not be fetched: {exc}", status=exc.status)
    ms = int((time.monotonic() - started) * 1000)
    size = len(result.body)
    text, encoding = decode_body(result.body, result.headers.get("content-type"))
    what = wayback.archive_error(text)
    if result.status >= 400:
        reason = f"the archive answered HTTP {result.status}" + (f" ({what})" if what else "")
        return _Skip(url, reason, status=result.status, bytes=size, duration_ms=ms)
    if what:
        reason = f"the archive served {what}, not the document"
        return _Skip(url, reason, status=result.status, bytes=size, duration_ms=ms)
    ref = wayback.parse_capture_url(result.final_url, archive.base_url)
    if ref is None or not ref.raw or len(result.final_url) > _MAX_URL:
        reason = f"redirected to {result.final_url}, which is not a raw capture"
        return _Skip(url, reason, status=result.status, bytes=size, duration_ms=ms)
    try:
        # Links resolve against the page's own URL, as in a live check, not the archive's.
        extracted = extract(
            result.body,
            content_type=result.headers.get("content-type", ""),
            rules=rules,
            base_url=ref.original,
            encoding=encoding,
        )
    except ExtractError as exc:
        outcome = EXTRACT_OUTCOMES.get(exc.kind, CheckOutcome.ERROR)
        return _Skip(url, str(exc), True, outcome, result.status, size, ms)
    signal = classify_page(status=result.status, html_or_text=text, extracted_text=extracted)
    if signal:
        reason = f"the capture looks like a {signal.replace('_', ' ')}"
        return _Skip(url, reason, True, CheckOutcome.BLOCKED, result.status, size, ms)
    detail = f"redirected to {result.final_url}" if result.final_url != url else ""
    return _Observation(
        url=url,
        final_url=result.final_url,
        captured_at=ref.captured_at,
        text=extracted,
        sha=text_sha256(extracted),
        words=word_count(extracted),
        body=result.body,
        content_type=result.content_type,
        encoding=encoding,
        status=result.status,
        duration_ms=ms,
        detail=detail,
    )


def _shrinks(document: Document, seen: _Observation, policy: Policy) -> bool:
    before = (
        Version.objects.filter(
            document=document, state=VersionState.PUBLISHED, observed_at__lte=seen.captured_at
        )
        .order_by("-observed_at", "-id")
        .values_list("sha256", "word_count")
        .first()
    )
    if before is None or before[0] == seen.sha or not before[1]:
        return False
    return 1 - seen.words / before[1] > policy.shrink_threshold


def _skip_log(document: Document, skip: _Skip) -> None:
    Check.objects.create(
        document=document,
        outcome=skip.outcome,
        fetcher=WAYBACK_FETCHER,
        http_status=skip.status,
        bytes=skip.bytes,
        duration_ms=skip.duration_ms,
        final_url=skip.url[:2000],
        error=f"skipped: {skip.reason}"[:5000],
    )


# --- placing one capture in the chain ----------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    id: int
    previous_id: int | None
    sha: str
    observed_at: datetime
    source: str
    state: str
    snapshot_id: int | None
    change_id: int | None
    change_kind: str | None
    words: int
    change_published_at: datetime | None
    change_retracted_at: datetime | None


@dataclass
class _Placed:
    outcome: str
    detail: str = ""
    version: Version | None = None
    snapshot_id: int | None = None


def _record(
    document: Document,
    seen: _Observation,
    report: BackfillReport,
    policy: Policy,
    detail: str = "",
) -> None:
    with transaction.atomic():
        locked = Document.objects.select_for_update().filter(pk=document.pk).order_by("pk").first()
        if locked is None:
            raise Document.DoesNotExist(f"document {document.pk} was deleted")
        if (
            Version.objects.filter(document=document, source_url=seen.final_url).exists()
            or Check.objects.filter(
                document=document, fetcher=WAYBACK_FETCHER, final_url=seen.url
            ).exists()
        ):
            report.already_recorded += 1  # a concurrent run of the same backfill got here first
            return
        placed = _place(locked, seen, report, policy)
        Check.objects.create(
            document=document,
            outcome=placed.outcome,
            fetcher=WAYBACK_FETCHER,
            http_status=seen.status,
            bytes=len(seen.body),
            duration_ms=seen.duration_ms,
            final_url=seen.url[:2000],
            detail="; ".join(d for d in (placed.detail, seen.detail, detail) if d)[:500],
            snapshot_id=placed.snapshot_id,
            version=placed.version,
        )


def _chain(document: Document) -> list[_Node]:
    rows = [
        _Node(
            id=r["id"],
            previous_id=r["previous_id"],
            sha=r["sha256"],
            observed_at=r["observed_at"],
            source=r["source"],
            state=r["state"],
            snapshot_id=r["snapshot_id"],
            change_id=r["change__id"],
            change_kind=r["change__kind"],
            words=r["word_count"],
            change_published_at=r["change__published_at"],
            change_retracted_at=r["change__retracted_at"],
        )
        for r in Version.objects.filter(document=document).values(
            "id",
            "previous_id",
            "sha256",
            "observed_at",
            "source",
            "state",
            "snapshot_id",
            "change__id",
            "change__kind",
            "change__published_at",
            "change__retracted_at",
            "word_count",
        )
    ]
    after = {node.previous_id: node for node in rows}
    chain: list[_Node] = []
    node = after.get(None)
    while node is not None:
        chain.append(node)
        node = after.get(node.id)
    if len(chain) != len(rows) or len(after) != len(rows):
        raise BackfillError(f"the versions of document {document.pk} do not form one chain")
    return chain


def _place(
    document: Document, seen: _Observation, report: BackfillReport, policy: Policy
) -> _Placed:
    chain = _chain(document)
    at = seen.captured_at
    i = max((n for n, node in enumerate(chain) if node.observed_at <= at), default=-1)
    before = chain[i] if i >= 0 else None
    after = chain[i + 1] if i + 1 < len(chain) else None

    if VersionState.HELD in (getattr(before, "state", None), getattr(after, "state", None)):
        report.duplicates += 1
        return _Placed(CheckOutcome.UNCHANGED, "not recorded: a held version awaits review here")
    if before is not None and seen.sha == before.sha:
        report.duplicates += 1
        return _Placed(CheckOutcome.UNCHANGED, f"same text as version {before.id}")
    if after is not None and seen.sha == after.sha:
        if after.source != VersionSource.ARCHIVE:
            report.duplicates += 1
            detail = f"same text as the later live version {after.id}, which keeps its date"
            return _Placed(CheckOutcome.UNCHANGED, detail)
        return _redate(document, after, seen, report, policy)
    if after is None and before is not None:
        checked = document.last_checked_at
        if checked is not None and checked >= before.observed_at:
            report.duplicates += 1
            detail = (
                "not recorded: newer than the latest version, and live checks since "
                f"{before.observed_at:%Y-%m-%d} are the record of the present"
            )
            return _Placed(CheckOutcome.UNCHANGED, detail)

    snapshot = _snapshot(seen)
    if after is not None:
        # `previous` is one-to-one: free S before V takes its place after P.
        Version.objects.filter(pk=after.id).update(previous=None)
    version = version_create(
        document=document,
        previous_id=before.id if before else None,
        text=seen.text,
        sha=seen.sha,
        observed_at=at,
        snapshot=snapshot,
        source=VersionSource.ARCHIVE,
        source_url=seen.final_url,
        state=VersionState.PUBLISHED,
        held_reason="",
    )
    report.versions += 1
    detail = ""
    if before is not None:
        change_create(
            document=document,
            old_id=before.id,
            new=version,
            kind=ChangeKind.CHANGE,
            published=True,
            alertable=False,
        )
    if after is not None:
        Version.objects.filter(pk=after.id).update(previous=version)
        if after.change_id is not None:
            _change_rebase(change_id=after.change_id, old=version)
            detail = (
                f"inserted before version {after.id}; its change {after.change_id} now starts here"
            )
        else:
            change_create(
                document=document,
                old_id=version.pk,
                new=Version.objects.get(pk=after.id),
                kind=ChangeKind.CHANGE,
                published=True,
                alertable=False,
            )
            detail = f"inserted before the first recorded version {after.id}"
    kinds = _reclassify(document, policy)
    outcome = CheckOutcome.FIRST if before is None else CheckOutcome.CHANGED
    if kinds.get(version.pk) == ChangeKind.FLIP_FLOP:
        outcome = CheckOutcome.FLIP_FLOP
    return _Placed(outcome, detail, version, snapshot.pk)


def _redate(
    document: Document, node: _Node, seen: _Observation, report: BackfillReport, policy: Policy
) -> _Placed:
    """The archive saw an archive version's text earlier than recorded: first seen is now."""
    snapshot = _snapshot(seen)
    Version.objects.filter(pk=node.id).update(
        observed_at=seen.captured_at, source_url=seen.final_url, snapshot=snapshot
    )
    Change.objects.filter(new_version_id=node.id).update(observed_at=seen.captured_at)
    if node.snapshot_id and node.snapshot_id != snapshot.pk:
        snapshots_prune(ids=[node.snapshot_id])
    report.redated += 1
    _reclassify(document, policy)
    detail = (
        f"version {node.id} was first seen earlier: now dated {seen.captured_at:%Y-%m-%d %H:%M}"
    )
    return _Placed(CheckOutcome.UNCHANGED, detail, Version.objects.get(pk=node.id), snapshot.pk)


def _snapshot(seen: _Observation):
    return snapshot_store(
        body=seen.body,
        content_type=seen.content_type,
        encoding=seen.encoding,
        final_url=seen.final_url,
        http_status=seen.status,
    )


def _change_rebase(*, change_id: int, old: Version) -> None:
    """Point an existing change at its new predecessor; the id, date and state stay."""
    change = Change.objects.select_related("new_version").get(pk=change_id)
    facts = analyze_change_texts(old.text, change.new_version.text)
    Change.objects.filter(pk=change_id).update(
        old_version=old, **dataclasses.asdict(facts), analyzed_at=timezone.now()
    )


def _reclassify(document: Document, policy: Policy) -> dict[int, str | None]:
    """Apply the flip-flop rule to the whole chain; returns version id → its change's kind."""
    chain = [n for n in _chain(document) if n.state == VersionState.PUBLISHED]
    links = [
        Link(
            sha256=n.sha,
            observed_at=n.observed_at,
            words=n.words,
            archive=n.source == VersionSource.ARCHIVE,
            kind=n.change_kind,
            published=n.change_published_at is not None,
            retracted_at=n.change_retracted_at,
        )
        for n in chain
    ]
    verdicts = history_verdicts(links, policy=policy)
    now = timezone.now()
    for node, link, verdict in zip(chain, links, verdicts, strict=True):
        if node.change_id is None or not link.archive:
            continue
        if (verdict.kind, verdict.published, verdict.retracted_at) == (
            link.kind,
            link.published,
            link.retracted_at,
        ):
            continue
        Change.objects.filter(pk=node.change_id).update(
            kind=verdict.kind,
            published_at=(node.change_published_at or now) if verdict.published else None,
            retracted_at=verdict.retracted_at,
        )
    return {node.id: verdict.kind for node, verdict in zip(chain, verdicts, strict=True)}


@dataclass(frozen=True)
class Link:
    """A published version and its incoming change, as the flip-flop rule sees them."""

    sha256: str
    observed_at: datetime
    words: int
    archive: bool
    kind: str | None = None  # of the incoming change (None for the first version)
    published: bool = False
    retracted_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    kind: str | None
    published: bool
    retracted_at: datetime | None


def history_verdicts(links: Sequence[Link], *, policy: Policy) -> list[Verdict]:
    """What each version's incoming change should be, by the live rules. Pure.

    Replays `decisions.decide` over the chain, oldest first, as if each archive version had
    been a live check at its capture time, and applies its flip-flop actions the way
    `recording` does: A → B → A within the window retracts A → B (retracted at the return)
    and leaves the return unpublished; B coming back restores A → B. Live versions keep
    what the live checks decided, and a rule that would change them is not applied.
    Shrinks are not judged here: a capture only gets this far once the next one confirmed it.
    """
    no_shrink = dataclasses.replace(policy, shrink_threshold=math.inf)
    states: list[Verdict] = []
    for n, link in enumerate(links):
        if n == 0:
            states.append(Verdict(None, False, None))
            continue
        if not link.archive:
            states.append(Verdict(link.kind, link.published, link.retracted_at))
            continue
        published = next((p for p in range(n - 1, 0, -1) if states[p].published), None)
        retracted = max(
            (p for p in range(1, n) if states[p].retracted_at is not None),
            key=lambda p: (states[p].retracted_at, p),
            default=None,
        )

        def ref(p: int | None) -> ChangeRef | None:
            if p is None:
                return None
            return ChangeRef(p, links[p - 1].sha256, links[p].sha256, states[p].retracted_at)

        current = links[n - 1]
        history = History(
            current=VersionRef(n - 1, current.sha256, current.observed_at, current.words),
            published=ref(published),
            retracted=ref(retracted),
        )
        action = decide(
            sha256=link.sha256,
            words=link.words,
            signal=None,
            history=history,
            now=link.observed_at,
            policy=no_shrink,
        ).action
        verdict = Verdict(ChangeKind.CHANGE, True, None)
        if action == Action.FLIP_FLOP and published is not None and links[published].archive:
            states[published] = Verdict(ChangeKind.FLIP_FLOP, False, link.observed_at)
            verdict = Verdict(ChangeKind.FLIP_FLOP, False, None)
        elif action == Action.FLIP_BACK and retracted is not None and links[retracted].archive:
            states[retracted] = Verdict(ChangeKind.CHANGE, True, None)
            verdict = Verdict(ChangeKind.FLIP_FLOP, False, None)
        states.append(verdict)
    return states
