"""The check of one document: fetch → snapshot → extract → record, and the document's state."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from platforms.kinds import DocumentStatus
from platforms.models import Document
from snapshots.extract import (
    ExtractError,
    Extraction,
    ExtractRules,
    extract_page,
    extraction_key,
)
from snapshots.fetch import FetchResult, decode_body
from snapshots.fetching import document_fetch
from snapshots.models import Check, CheckOutcome
from snapshots.page_signals import classify_page
from snapshots.recording import (
    Recorded,
    document_with_latest_version,
    text_record,
    text_sha256,
    was_current_and_nothing_held,
)
from snapshots.rows import row_insert, row_update
from snapshots.storage import body_sha256, snapshot_drop_if_unused, snapshot_store

logger = logging.getLogger(__name__)

# Statuses that mean "you may not see this page", as opposed to "this page is broken".
BLOCKING_STATUSES = frozenset({401, 403, 406, 429, 451})

SUCCESS_OUTCOMES = frozenset(
    {
        CheckOutcome.FIRST,
        CheckOutcome.UNCHANGED,
        CheckOutcome.NOT_MODIFIED,
        CheckOutcome.CHANGED,
        CheckOutcome.FLIP_FLOP,
        CheckOutcome.SUSPICIOUS,
    }
)
OUTCOME_STATUS = {
    CheckOutcome.SUSPICIOUS: DocumentStatus.SUSPICIOUS,
    CheckOutcome.BLOCKED: DocumentStatus.BLOCKED,
    CheckOutcome.SELECTOR_BROKEN: DocumentStatus.SELECTOR_BROKEN,
    CheckOutcome.UNSUPPORTED: DocumentStatus.UNSUPPORTED,
}
EXTRACT_OUTCOMES = {
    "selector_broken": CheckOutcome.SELECTOR_BROKEN,
    "unsupported": CheckOutcome.UNSUPPORTED,
}


@dataclass
class CheckReport:
    outcome: str
    http_status: int | None = None
    bytes: int = 0
    final_url: str = ""
    error: str = ""
    detail: str = ""
    retry_after: float | None = None
    recorded: Recorded | None = None
    fetch: FetchResult | None = None
    fetcher: str = ""  # which fetcher served the page ("http" or "browser")
    snapshot_id: int | None = None  # the body stored for this check: the document's latest
    extraction: Extracted | None = None  # what extracting that body gave, for the next check
    pending: Pending | None = None  # what is left to write once the page is read


@dataclass(frozen=True)
class Extracted:
    """What the document remembers of the extraction of its latest body."""

    key: str  # snapshots.extract.extraction_key: the body, its type, the rules, the extractor
    text_sha256: str  # the text it gave
    fragment_key: str = ""  # the converter's input it gave (snapshots.extract.fragment_key)


@dataclass
class Pending:
    """A fetched page to store, and its text to record (None: extraction failed)."""

    result: FetchResult
    sha256: str
    encoding: str
    text: str | None = None
    signal: str | None = None
    extracted: Extracted | None = None
    same_text: bool = False  # the converter's input of the current text: text not needed
    notes: list[str] = field(default_factory=list)


def document_check(*, document_id: int, now: datetime | None = None) -> Check:
    """Check one document now and record what happened. Never raises for a bad page."""
    # With its newest version's state: an unchanged static page then needs no other read.
    document = document_with_latest_version(document_id)
    now = now or timezone.now()
    started = time.monotonic()
    report = _run(document, now)
    # Everything the check writes commits together: a worker killed (or a connection cut)
    # in between cannot leave a version without the check that recorded it.
    with transaction.atomic():
        if report.pending is not None:
            _record(document, report, now)
        duration_ms = int((time.monotonic() - started) * 1000)
        check = _check_log(document, report, now, duration_ms)
        _update_state(document, report, now)
    logger.info(
        "check document=%s outcome=%s status=%s bytes=%s ms=%s %s",
        document.pk,
        report.outcome,
        report.http_status,
        report.bytes,
        duration_ms,
        report.error,
    )
    return check


def _check_log(document: Document, report: CheckReport, now: datetime, duration_ms: int) -> Check:
    check = Check(
        document=document,
        checked_at=now,
        outcome=report.outcome,
        fetcher=report.fetcher or document.fetcher,
        http_status=report.http_status,
        bytes=report.bytes,
        duration_ms=duration_ms,
        final_url=report.final_url[:2000],
        error=report.error[:5000],
        detail=report.detail[:500],
        # Only a check that wrote a version keeps its body linked: routine bodies are replaced
        # (and deleted) by the next check.
        snapshot_id=report.snapshot_id if report.recorded and report.recorded.version else None,
        version=report.recorded.version if report.recorded else None,
    )
    row_insert(check)
    return check


@dataclass
class _PageKey:
    sha256: str
    extraction_key: str
    extracted_before: bool  # the very page the document's current text was extracted from
    # Filled in when the page had to be extracted to tell whether it is known (see known()).
    extraction: Extraction | ExtractError | None = None
    decoded: tuple[str, str] | None = None  # decode_body's (text, encoding), once worked out

    def decode(self, result: FetchResult) -> tuple[str, str]:
        if self.decoded is None:
            self.decoded = decode_body(result.body, result.headers.get("content-type"))
        return self.decoded


def _page_key(document: Document, result: FetchResult) -> _PageKey:
    sha = body_sha256(result.body)
    key = extraction_key(
        body_sha256=sha,
        content_type=result.headers.get("content-type", ""),
        rules=document_rules(document),
        base_url=result.final_url,
    )
    before = (
        result.status < 400
        and key == document.extraction_key
        and document.latest_snapshot_id is not None
        and was_current_and_nothing_held(document, document.extracted_sha256)
    )
    return _PageKey(sha, key, before)


def _current_fragment(document: Document) -> str:
    """The converter's input that gave the current text, if nothing waits to be decided."""
    if document.fragment_key and was_current_and_nothing_held(document, document.extracted_sha256):
        return document.fragment_key
    return ""


def _extract(
    document: Document, result: FetchResult, encoding: str, known_fragment: str
) -> Extraction | ExtractError:
    try:
        return extract_page(
            result.body,
            content_type=result.headers.get("content-type", ""),
            rules=document_rules(document),
            base_url=result.final_url,
            encoding=encoding,
            known_fragment=known_fragment,
        )
    except ExtractError as exc:
        return exc


def _run(document: Document, now: datetime) -> CheckReport:
    keys: dict[int, _PageKey] = {}  # by id(result): worked out once per fetched page

    def page_key(result: FetchResult) -> _PageKey:
        if id(result) not in keys:
            keys[id(result)] = _page_key(document, result)
        return keys[id(result)]

    def known(result: FetchResult) -> bool:
        """The page the current text came from, or one whose document part is the same:
        either way no bot challenge, and the text is still current."""
        key = page_key(result)
        if key.extracted_before or result.status >= 400:
            return key.extracted_before
        if (fragment := _current_fragment(document)) and key.extraction is None:
            _, encoding = key.decode(result)
            key.extraction = _extract(document, result, encoding, fragment)
        return isinstance(key.extraction, Extraction) and key.extraction.text is None

    fetched = document_fetch(document, known_page=known)
    if (exc := fetched.error) is not None:
        outcome = CheckOutcome.BLOCKED if exc.kind == "rate_limited" else CheckOutcome.ERROR
        if exc.kind == "blocked_address":
            outcome = CheckOutcome.BLOCKED
        return CheckReport(
            outcome=outcome,
            http_status=exc.status,
            error=str(exc),
            final_url=exc.final_url or "",
            retry_after=exc.retry_after,
            fetcher=fetched.fetcher,
            detail=fetched.note,
        )
    result = fetched.result
    assert result is not None  # document_fetch gives a result or an error
    report = CheckReport(
        outcome=CheckOutcome.ERROR,
        http_status=result.status,
        bytes=len(result.body),
        final_url=result.final_url,
        fetch=result,
        fetcher=fetched.fetcher,
        detail=fetched.note,
    )
    notes = [fetched.note] if fetched.note else []
    if result.redirected_offsite:
        notes.append(f"redirected to another site: {result.final_url}")
    if result.not_modified:
        report.outcome = CheckOutcome.NOT_MODIFIED
        return report
    if result.status >= 400:
        text, _ = decode_body(result.body, result.headers.get("content-type"))
        signal = classify_page(status=result.status, html_or_text=text, extracted_text=None)
        blocked = result.status in BLOCKING_STATUSES or signal in {"captcha", "login_wall"}
        report.outcome = CheckOutcome.BLOCKED if blocked else CheckOutcome.ERROR
        report.error = f"HTTP {result.status}" + (
            f" ({signal.replace('_', ' ')})" if signal else ""
        )
        return report
    key = page_key(result)
    if key.extracted_before:
        # The very page the current text was extracted from (static pages, most terms
        # pages): its body is already the latest snapshot and its text already current.
        report.outcome = CheckOutcome.UNCHANGED
        report.recorded = Recorded(CheckOutcome.UNCHANGED)
        report.snapshot_id = document.latest_snapshot_id
        report.extraction = Extracted(
            key.extraction_key, document.extracted_sha256, document.fragment_key
        )
        report.detail = "; ".join(notes)
        return report
    text, encoding = key.decode(result)
    pending = Pending(result=result, sha256=key.sha256, encoding=encoding, notes=notes)
    report.pending = pending
    # Not extracted yet when known() was not asked (browser documents): the same shortcut.
    extraction = key.extraction or _extract(document, result, encoding, _current_fragment(document))
    if isinstance(extraction, ExtractError):
        report.outcome = EXTRACT_OUTCOMES.get(extraction.kind, CheckOutcome.ERROR)
        report.error = str(extraction)
        report.detail = "; ".join(notes)
        return report
    if extraction.text is None:
        # Other bytes (tokens, nonces, timestamps), but the document part of the page is the
        # one the current text was converted from: the text is that text. Only the body is
        # new, to keep as the latest.
        pending.same_text = True
        pending.extracted = Extracted(
            key.extraction_key, document.extracted_sha256, extraction.fragment_key
        )
        return report
    pending.text = extraction.text
    pending.signal = classify_page(
        status=result.status, html_or_text=text, extracted_text=pending.text
    )
    pending.extracted = Extracted(
        key.extraction_key, text_sha256(pending.text), extraction.fragment_key
    )
    return report


def _record(document: Document, report: CheckReport, now: datetime) -> None:
    """Store the page as the document's latest body and record its text, if it has one."""
    pending = report.pending
    assert pending is not None
    result = pending.result
    snapshot = snapshot_store(
        body=result.body,
        content_type=result.content_type,
        encoding=pending.encoding,
        final_url=result.final_url,
        http_status=result.status,
        sha=pending.sha256,
    )
    report.snapshot_id = snapshot.pk
    if pending.same_text:
        report.outcome = CheckOutcome.UNCHANGED
        report.recorded = Recorded(CheckOutcome.UNCHANGED)
        report.extraction = pending.extracted
        report.detail = "; ".join(pending.notes)
        return
    if pending.text is None:
        return  # extraction failed: the body stays for the admin's preview
    recorded = text_record(
        document=document,
        text=pending.text,
        observed_at=now,
        snapshot=snapshot,
        signal=pending.signal,
    )
    report.extraction = pending.extracted
    notes = [*pending.notes, recorded.detail] if recorded.detail else pending.notes
    report.outcome = recorded.outcome
    report.recorded = recorded
    report.detail = "; ".join(notes)


def document_rules(document: Document) -> ExtractRules:
    return ExtractRules(
        select=tuple(document.select),
        remove=tuple(document.remove),
        ignore_patterns=tuple(document.ignore_patterns),
    )


def _update_state(document: Document, report: CheckReport, now: datetime) -> None:
    fields: dict = {"last_checked_at": now}
    previous_snapshot_id = document.latest_snapshot_id
    if report.snapshot_id is not None and report.snapshot_id != previous_snapshot_id:
        fields["latest_snapshot_id"] = report.snapshot_id
    if report.snapshot_id is not None:
        # Forget the last extraction unless this check made one from this very body.
        extracted = report.extraction or Extracted("", "")
        fields["extraction_key"] = extracted.key
        fields["extracted_sha256"] = extracted.text_sha256
        fields["fragment_key"] = extracted.fragment_key
    if report.outcome in SUCCESS_OUTCOMES:
        fields["consecutive_failures"] = 0
        fields["status"] = OUTCOME_STATUS.get(report.outcome, DocumentStatus.OK)
        fields["last_error"] = ""
        fields["next_check_at"] = now + document.check_interval
        if report.fetch is not None and not report.fetch.not_modified:
            fields["http_etag"] = (report.fetch.etag or "")[:500]
            fields["http_last_modified"] = (report.fetch.last_modified or "")[:100]
    else:
        failures = document.consecutive_failures + 1
        fields["consecutive_failures"] = failures
        fields["last_error"] = report.error[:5000]
        status = OUTCOME_STATUS.get(report.outcome)
        if status is None and failures >= settings.TRACK_FAILING_AFTER:
            status = DocumentStatus.FAILING
        if status is not None:
            fields["status"] = status
        delay = retry_delay(document.check_interval, failures)
        if report.retry_after:
            delay = max(delay, timedelta(seconds=report.retry_after))
        fields["next_check_at"] = now + delay
    row_update(Document, document.pk, fields)
    if "latest_snapshot_id" in fields and previous_snapshot_id is not None:
        snapshot_drop_if_unused(previous_snapshot_id)
    _notify_status_change(document, fields.get("status"), report)


def _notify_status_change(document: Document, new_status: str | None, report: CheckReport) -> None:
    """Tell the admins when a document starts or stops needing attention (once per incident)."""
    from alerts.services import document_status_notify

    if new_status is not None and new_status != document.status:
        document_status_notify(
            document_id=document.pk, old_status=document.status, new_status=new_status
        )
    if report.outcome == CheckOutcome.FLIP_FLOP and document.unstable_since is None:
        document_status_notify(
            document_id=document.pk, old_status=document.status, new_status="unstable"
        )


def retry_delay(interval: timedelta, failures: int) -> timedelta:
    """Back off exponentially from a quarter of the interval, never beyond the cap."""
    cap = max(interval, settings.TRACK_MAX_BACKOFF)
    return min(interval / 4 * (2 ** min(failures - 1, 16)), cap)
