"""Raw bodies, content-addressed and compressed, kept only while something needs them."""

from __future__ import annotations

import hashlib
import zlib

from django.db.models import Exists, OuterRef

from platforms.models import Document
from snapshots.models import Snapshot, Version

# Level 3 compresses HTML about as well as 6 at a fraction of the CPU, which matters at 150 checks/s.
COMPRESSION_LEVEL = 3


def snapshot_store(
    *, body: bytes, content_type: str, encoding: str, final_url: str, http_status: int | None
) -> Snapshot:
    sha = hashlib.sha256(body).hexdigest()
    # One statement whether or not the body is already stored: INSERT … ON CONFLICT (sha256)
    # DO UPDATE … RETURNING id. The update rewrites sha256 with itself, so nothing changes.
    (snapshot,) = Snapshot.objects.bulk_create(
        [
            Snapshot(
                sha256=sha,
                body=zlib.compress(body, COMPRESSION_LEVEL),
                size=len(body),
                content_type=content_type[:200],
                encoding=encoding[:50],
                final_url=final_url[:2000],
                http_status=http_status,
            )
        ],
        update_conflicts=True,
        unique_fields=["sha256"],
        update_fields=["sha256"],
    )
    return snapshot


def snapshot_body(snapshot: Snapshot) -> bytes:
    return zlib.decompress(bytes(snapshot.body))


def latest_snapshot_replace(*, document: Document, snapshot: Snapshot) -> None:
    """Point the document at its newest body and drop the previous one if nothing needs it.

    Pages carry rotating tokens, so nearly every check has a new body: keeping only the bodies
    behind versions, plus the latest per document, makes storage grow with changes, not checks.
    """
    previous_id = document.latest_snapshot_id
    if previous_id == snapshot.pk:
        return
    Document.objects.filter(pk=document.pk).update(latest_snapshot=snapshot)
    document.latest_snapshot = snapshot
    if previous_id is not None:
        snapshots_prune(ids=[previous_id])


def snapshots_prune(*, ids: list[int] | None = None) -> int:
    """Delete bodies that no version and no document's latest pointer refers to."""
    unused = Snapshot.objects.filter(
        ~Exists(Version.objects.filter(snapshot=OuterRef("pk"))),
        ~Exists(Document.objects.filter(latest_snapshot=OuterRef("pk"))),
    )
    if ids is not None:
        unused = unused.filter(pk__in=ids)
    deleted, _ = unused.delete()
    return deleted
