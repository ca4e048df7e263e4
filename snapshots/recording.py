"""Record an extracted text against a document's history: versions, changes, holds, flip-flops."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from platforms.models import Document
from snapshots.analysis import analyze_change_texts
from snapshots.decisions import Action, ChangeRef, HeldRef, History, Policy, VersionRef, decide
from snapshots.models import (
    Change,
    ChangeKind,
    CheckOutcome,
    Snapshot,
    Version,
    VersionSource,
    VersionState,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    outcome: str
    version: Version | None = None
    change: Change | None = None
    detail: str = ""


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def word_count(text: str) -> int:
    return len(text.split())


def current_policy() -> Policy:
    return Policy(
        shrink_threshold=settings.TRACK_SHRINK_THRESHOLD,
        flip_flop_window=settings.TRACK_FLIP_FLOP_WINDOW,
    )


def text_record(
    *,
    document: Document,
    text: str,
    observed_at: datetime,
    snapshot: Snapshot | None = None,
    signal: str | None = None,
    source: str = VersionSource.LIVE,
    source_url: str = "",
    policy: Policy | None = None,
) -> Recorded:
    """Decide what `text` means for the document and write it, atomically.

    The document row is locked for the duration, and the version chain's constraints make a
    concurrent second writer fail rather than fork the history.
    """
    sha = text_sha256(text)
    if is_current_and_nothing_held(document, sha):
        # The common case (nothing changed) needs one read and no lock.
        return Recorded(CheckOutcome.UNCHANGED)
    try:
        with transaction.atomic():
            # order_by("pk"): the default ordering joins the platform, and FOR UPDATE would
            # lock the platform's row too, serializing every recording check of a platform.
            Document.objects.select_for_update().filter(pk=document.pk).order_by("pk").first()
            history = _history(document)
            decision = decide(
                sha256=sha,
                words=word_count(text),
                signal=signal,
                history=history,
                now=observed_at,
                policy=policy or current_policy(),
            )
            if decision.discard_held and history.held is not None:
                Version.objects.filter(pk=history.held.id, state=VersionState.HELD).delete()
            return _apply(
                document,
                decision.action,
                decision.reason,
                history,
                text,
                sha,
                observed_at,
                snapshot,
                source,
                source_url,
            )
    except IntegrityError:
        # Another worker extended the chain between our read and our write: its result stands.
        logger.info("document %s: concurrent check already recorded a version", document.pk)
        return Recorded(CheckOutcome.UNCHANGED, detail="recorded concurrently by another check")


def is_current_and_nothing_held(document: Document, sha: str) -> bool:
    latest = (
        Version.objects.filter(document=document)
        .order_by("-observed_at", "-id")
        .values_list("sha256", "state")
        .first()
    )
    # A held version is always the newest, so "newest is published with this text" means
    # unchanged, with no hold to resolve.
    return latest == (sha, VersionState.PUBLISHED)


def with_latest_version(documents: QuerySet[Document]) -> QuerySet[Document]:
    """Documents loaded with their newest version's text hash and state, in the same query."""
    latest = Version.objects.filter(document=OuterRef("pk")).order_by("-observed_at", "-id")
    return documents.annotate(
        latest_version_sha256=Subquery(latest.values("sha256")[:1]),
        latest_version_state=Subquery(latest.values("state")[:1]),
    )


def document_with_latest_version(document_id: int) -> Document:
    """One document through with_latest_version; raises Document.DoesNotExist.

    Every check starts here, and building this query costs more CPU than running it, so
    each process builds its SQL once.
    """
    documents = Document.objects.raw(_document_sql(), [document_id])
    for document in documents:
        return document
    raise Document.DoesNotExist(f"no document {document_id}")


@cache
def _document_sql() -> str:
    sql, params = (
        with_latest_version(Document.objects.all()).filter(pk=0).order_by().query.sql_with_params()
    )
    if params != (0,):  # the id is the only value in it, or the SQL cannot be reused
        raise RuntimeError(f"unexpected parameters in the document query: {params!r}")
    return sql


def was_current_and_nothing_held(document: Document, sha: str) -> bool:
    """is_current_and_nothing_held, as of loading `document` through with_latest_version."""
    latest = (document.latest_version_sha256, document.latest_version_state)
    return latest == (sha, VersionState.PUBLISHED)


def _history(document: Document) -> History:
    current = (
        Version.objects.filter(document=document, state=VersionState.PUBLISHED)
        .order_by("-observed_at", "-id")
        .values("id", "sha256", "observed_at", "word_count")
        .first()
    )
    changes = Change.objects.filter(document=document).values(
        "id", "old_version__sha256", "new_version__sha256", "retracted_at"
    )
    published = changes.filter(published_at__isnull=False).order_by("-observed_at", "-id").first()
    retracted = changes.filter(retracted_at__isnull=False).order_by("-retracted_at", "-id").first()
    held = (
        Version.objects.filter(document=document, state=VersionState.HELD)
        .values("id", "sha256", "held_reason")
        .first()
    )
    return History(
        current=VersionRef(
            id=current["id"],
            sha256=current["sha256"],
            observed_at=current["observed_at"],
            words=current["word_count"],
        )
        if current
        else None,
        published=_change_ref(published),
        retracted=_change_ref(retracted),
        held=HeldRef(held["id"], held["sha256"], held["held_reason"]) if held else None,
    )


def _change_ref(row: dict | None) -> ChangeRef | None:
    if row is None:
        return None
    return ChangeRef(
        id=row["id"],
        old_sha256=row["old_version__sha256"],
        new_sha256=row["new_version__sha256"],
        at=row["retracted_at"],
    )


def _apply(document, action, reason, history, text, sha, observed_at, snapshot, source, source_url):
    current_id = history.current.id if history.current else None

    def new_version(state=VersionState.PUBLISHED, held_reason=""):
        return version_create(
            document=document,
            previous_id=current_id,
            text=text,
            sha=sha,
            observed_at=observed_at,
            snapshot=snapshot,
            source=source,
            source_url=source_url,
            state=state,
            held_reason=held_reason,
        )

    if action == Action.UNCHANGED:
        return Recorded(CheckOutcome.UNCHANGED)
    if action == Action.STILL_HELD:
        return Recorded(CheckOutcome.SUSPICIOUS, detail=f"still held: {reason}")
    if action == Action.FIRST:
        return Recorded(CheckOutcome.FIRST, version=new_version())
    if action == Action.HOLD:
        version = new_version(state=VersionState.HELD, held_reason=reason)
        return Recorded(CheckOutcome.SUSPICIOUS, version=version, detail=f"held: {reason}")
    if action in (Action.CONFIRM_HELD, Action.PUBLISH):
        if action == Action.CONFIRM_HELD:
            version = Version.objects.get(pk=history.held.id)
            version.state = VersionState.PUBLISHED
            version.save(update_fields=["state"])
        else:
            version = new_version()
        change = change_create(
            document=document,
            old_id=current_id,
            new=version,
            kind=ChangeKind.CHANGE,
            published=True,
            alertable=source == VersionSource.LIVE,
        )
        return Recorded(CheckOutcome.CHANGED, version=version, change=change, detail=reason)
    if action in (Action.FLIP_FLOP, Action.FLIP_BACK):
        version = new_version()
        change = change_create(
            document=document,
            old_id=current_id,
            new=version,
            kind=ChangeKind.FLIP_FLOP,
            published=False,
            alertable=False,
        )
        if action == Action.FLIP_FLOP:
            # The excursion we published (A → B) was not a lasting change: withdraw it.
            Change.objects.filter(pk=history.published.id).update(
                kind=ChangeKind.FLIP_FLOP, published_at=None, retracted_at=observed_at
            )
        else:
            # A → B → A → B: B is back, so the original A → B stands, with its first-seen date.
            Change.objects.filter(pk=history.retracted.id).update(
                kind=ChangeKind.CHANGE, published_at=observed_at, retracted_at=None
            )
        Document.objects.filter(pk=document.pk).update(unstable_since=observed_at)
        return Recorded(CheckOutcome.FLIP_FLOP, version=version, change=change, detail=reason)
    raise AssertionError(f"unhandled action {action}")


def version_create(
    *,
    document,
    previous_id,
    text,
    sha,
    observed_at,
    snapshot,
    source,
    source_url,
    state,
    held_reason,
) -> Version:
    from snapshots.dates import stated_dates

    dates = stated_dates(text)
    return Version.objects.create(
        document=document,
        previous_id=previous_id,
        text=text,
        sha256=sha,
        word_count=word_count(text),
        observed_at=observed_at,
        snapshot=snapshot,
        source=source,
        source_url=source_url,
        state=state,
        held_reason=held_reason,
        stated_effective=dates.effective,
        stated_updated=dates.updated,
    )


def change_create(
    *, document, old_id: int | None, new: Version, kind: str, published: bool, alertable: bool
) -> Change:
    old = Version.objects.only("text").get(pk=old_id)
    facts = analyze_change_texts(old.text, new.text)
    now = timezone.now()
    change = Change.objects.create(
        document=document,
        old_version_id=old_id,
        new_version=new,
        observed_at=new.observed_at,
        kind=kind,
        published_at=now if published else None,
        alertable=alertable,
        **asdict(facts),
        analyzed_at=now,
    )
    if published and alertable:
        from alerts.tasks import fan_out_change

        # After commit: subscribers must never hear of a change that was rolled back.
        fan_out_change.delay_on_commit(change.pk)
    return change


def change_analyze(*, change: Change) -> None:
    """Recompute and store a change's diff, counts, AI analysis and summary."""
    facts = asdict(analyze_change_texts(change.old_version.text, change.new_version.text))
    for name, value in facts.items():
        setattr(change, name, value)
    change.analyzed_at = timezone.now()
    change.save(update_fields=[*facts, "analyzed_at"])


def held_version_approve(*, version: Version) -> Change | None:
    """An admin confirms a held text: it becomes the current version and its change is published."""
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk, state=VersionState.HELD)
        version.state = VersionState.PUBLISHED
        version.held_reason = ""
        version.save(update_fields=["state", "held_reason"])
        if version.previous_id is None:
            return None
        return change_create(
            document=version.document,
            old_id=version.previous_id,
            new=version,
            kind=ChangeKind.CHANGE,
            published=True,
            alertable=version.source == VersionSource.LIVE,
        )


def held_version_reject(*, version: Version) -> None:
    Version.objects.filter(pk=version.pk, state=VersionState.HELD).delete()
