"""Raw bodies, content-addressed and compressed, kept only while something needs them."""

from __future__ import annotations

import hashlib
import zlib

from django.db import connection
from django.db.models import Exists, OuterRef

from platforms.models import Document
from snapshots.models import Check, Snapshot, Version

# Level 1 costs a third less CPU than 3 on 100 KB pages for a few percent more bytes, and
# nearly every check stores a body (the latest one per document is kept).
COMPRESSION_LEVEL = 1


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def snapshot_store(
    *,
    body: bytes,
    content_type: str,
    encoding: str,
    final_url: str,
    http_status: int | None,
    sha: str | None = None,
) -> Snapshot:
    sha = sha or body_sha256(body)
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


def snapshot_drop_if_unused(snapshot_id: int) -> int:
    """Delete one body unless a version, a document or a check still points at it.

    One statement, for the previous latest body on every check: the ORM's delete() would
    first load the row (body included) and null each reverse relation in its own query.
    """
    # Table names come from the models; the one value is a parameter.
    sql = (
        f"DELETE FROM {Snapshot._meta.db_table} WHERE id = %s"  # noqa: S608
        f" AND NOT EXISTS (SELECT 1 FROM {Version._meta.db_table} WHERE snapshot_id = %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {Document._meta.db_table} WHERE latest_snapshot_id = %s)"
        f" AND NOT EXISTS (SELECT 1 FROM {Check._meta.db_table} WHERE snapshot_id = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [snapshot_id] * 4)
        return cursor.rowcount


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
