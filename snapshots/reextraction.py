"""Re-apply a document's current selectors to its stored body, after an admin changed them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from platforms.models import Document
from snapshots.extract import ExtractError, extract
from snapshots.models import ChangeKind, Version, VersionState
from snapshots.recording import change_create, text_sha256, word_count
from snapshots.services import document_rules
from snapshots.storage import UnreadableSnapshot, snapshot_body


@dataclass(frozen=True)
class Preview:
    text: str = ""
    error: str = ""
    snapshot_url: str = ""


def extraction_preview(*, document: Document, select, remove, ignore_patterns) -> Preview:
    """What the given rules would extract from the latest stored body; writes nothing."""
    from snapshots.extract import ExtractRules

    snapshot = document.latest_snapshot
    if snapshot is None:
        return Preview(error="No stored page yet: check the document first.")
    rules = ExtractRules(
        select=tuple(select), remove=tuple(remove), ignore_patterns=tuple(ignore_patterns)
    )
    try:
        text = extract(
            snapshot_body(snapshot),
            content_type=snapshot.content_type,
            rules=rules,
            base_url=snapshot.final_url,
            encoding=snapshot.encoding or None,
        )
    except (ExtractError, ValueError) as exc:
        return Preview(error=str(exc), snapshot_url=snapshot.final_url)
    return Preview(text=text, snapshot_url=snapshot.final_url)


def document_reextract(*, document: Document) -> str:
    """Rebuild the current version from the latest stored body with the current rules.

    A different text is recorded as a technical change: kept in the record so the next live
    check compares against the new extraction, but never published or alerted.
    """
    snapshot = document.latest_snapshot
    if snapshot is None:
        return "skipped: no stored page"
    try:
        text = extract(
            snapshot_body(snapshot),
            content_type=snapshot.content_type,
            rules=document_rules(document),
            base_url=snapshot.final_url,
            encoding=snapshot.encoding or None,
        )
    except (ExtractError, UnreadableSnapshot) as exc:
        return f"failed: {exc}"
    sha = text_sha256(text)
    with transaction.atomic():
        Document.objects.select_for_update().filter(pk=document.pk).order_by("pk").first()
        current = (
            Version.objects.filter(document=document, state=VersionState.PUBLISHED)
            .order_by("-observed_at", "-id")
            .first()
        )
        if current is not None and current.sha256 == sha:
            return "unchanged"
        # A held text was judged under the old rules; the next check judges it afresh.
        Version.objects.filter(document=document, state=VersionState.HELD).delete()
        version = Version.objects.create(
            document=document,
            previous=current,
            text=text,
            sha256=sha,
            word_count=word_count(text),
            observed_at=timezone.now(),
            snapshot=snapshot,
        )
        if current is None:
            return "first version recorded"
        change_create(
            document=document,
            old_id=current.pk,
            new=version,
            kind=ChangeKind.TECHNICAL,
            published=False,
            alertable=False,
        )
    return "technical change recorded"
