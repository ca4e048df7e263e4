"""How long raw bodies (snapshots) are kept.

Storage already keeps only the bodies behind versions plus each document's latest one
(snapshots/storage.py), so what remains to decide is:

- Orphans: a body stored by a check or backfill that died before pointing anything at it.
  Nothing will ever read it; it is deleted once it is older than ORPHAN_GRACE, which leaves
  checks in flight alone. Always on.
- Bodies of superseded versions (TRACK_SNAPSHOT_RETENTION_DAYS): the raw page behind a version
  is the evidence of what the site served, and the archive keeps it forever by default (0).
  An installation short of space may set N days: the body behind a version whose successor
  was published more than N days ago is then released. The version's text, the changes and
  their diffs stay; only "view the page as fetched" goes for those old versions. The current
  version's body, held versions' bodies and each document's latest body (which `reextract`
  re-applies selectors to) are never released.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from platforms.models import Document
from snapshots.models import Snapshot, Version, VersionState
from snapshots.storage import snapshots_prune

# Longer than any check or backfill step takes between storing a body and pointing at it.
ORPHAN_GRACE = timedelta(days=1)
BATCH = 500


@dataclass(frozen=True)
class RetentionReport:
    released: int  # versions whose raw body was let go
    deleted: int  # snapshot rows deleted (released bodies nothing else shares, and orphans)

    def summary(self) -> str:
        return f"{self.released} version bodies released, {self.deleted} snapshots deleted"


def snapshots_retention_prune(
    *, now: datetime, retention: timedelta | None = None
) -> RetentionReport:
    """Apply the snapshot retention (TRACK_SNAPSHOT_RETENTION unless given); safe to rerun."""
    if retention is None:
        retention = settings.TRACK_SNAPSHOT_RETENTION
    released = deleted = 0
    if retention:
        cutoff = now - retention
        superseded = Version.objects.filter(
            snapshot__isnull=False,
            next__state=VersionState.PUBLISHED,
            next__observed_at__lt=cutoff,
        ).exclude(state=VersionState.HELD)
        while batch := list(superseded.values_list("id", "snapshot_id")[:BATCH]):
            with transaction.atomic():
                released += Version.objects.filter(
                    pk__in=[pk for pk, _ in batch], snapshot__isnull=False
                ).update(snapshot=None)
            # Deduplicated bodies may also sit behind another version or be a document's
            # latest: snapshots_prune deletes only those nothing refers to any more.
            deleted += snapshots_prune(ids=sorted({sid for _, sid in batch}))
    orphans = Snapshot.objects.filter(
        ~Exists(Version.objects.filter(snapshot=OuterRef("pk"))),
        ~Exists(Document.objects.filter(latest_snapshot=OuterRef("pk"))),
        created_at__lt=now - ORPHAN_GRACE,
    ).order_by("pk")
    while batch := list(orphans.values_list("pk", flat=True)[:BATCH]):
        pruned = snapshots_prune(ids=batch)
        deleted += pruned
        if not pruned:
            break  # referenced again since the select: leave them to the next run
    return RetentionReport(released=released, deleted=deleted)
