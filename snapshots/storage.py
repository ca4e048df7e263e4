"""Raw bodies, content-addressed and compressed, kept only while something needs them."""

from __future__ import annotations

import hashlib
import zlib

import psycopg
from backports import zstd  # compression.zstd from Python 3.14 on
from django.db import connection
from django.db.models import Exists, OuterRef

from platforms.models import Document
from snapshots.models import Check, Snapshot, Version

# Nearly every check stores a body (the latest one per document is kept). On ~100 KB terms
# pages zstd at level 1 takes a fifth of the CPU of zlib at level 1 and stores 45 % fewer
# bytes (bench/BENCHMARKS.md). Bodies stored with zlib before are still read.
COMPRESSION_LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class UnreadableSnapshot(ValueError):
    """A stored body in no format this version writes or has written."""


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
    snapshot = Snapshot(
        sha256=sha or body_sha256(body),
        body=zstd.compress(body, level=COMPRESSION_LEVEL),
        size=len(body),
        content_type=content_type[:200],
        encoding=encoding[:50],
        final_url=final_url[:2000],
        http_status=http_status,
    )
    if connection.vendor == "postgresql":
        snapshot.pk = _upsert_binary(snapshot)
        snapshot._state.adding = False
        snapshot._state.db = connection.alias
        return snapshot
    # One statement whether or not the body is already stored: INSERT … ON CONFLICT (sha256)
    # DO UPDATE … RETURNING id. The update rewrites sha256 with itself, so nothing changes.
    (snapshot,) = Snapshot.objects.bulk_create(
        [snapshot], update_conflicts=True, unique_fields=["sha256"], update_fields=["sha256"]
    )
    return snapshot


_FIELDS = ("sha256", "body", "size", "content_type", "encoding", "final_url", "http_status")


def _upsert_binary(snapshot: Snapshot) -> int:
    """The upsert above, with the body sent as binary: nearly every check stores one.

    Django's cursors bind values into the SQL text, so a compressed body (~16 KB for a
    100 KB page) would travel as twice as many hex digits for the server to parse; a psycopg
    cursor with server-side binding sends its bytes (%b). It runs on Django's connection,
    inside its transaction.
    """
    table = Snapshot._meta.db_table
    columns = ", ".join([*_FIELDS, "created_at"])
    placeholders = ", ".join("%b" if name == "body" else "%s" for name in _FIELDS)
    # Names come from the model; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}, %s)"  # noqa: S608
        " ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256 RETURNING id"
    )
    values = [getattr(snapshot, name) for name in _FIELDS]
    connection.ensure_connection()
    # Errors come out as Django's (OperationalError & co.), as from any Django cursor.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [*values, snapshot.created_at])
        row = cursor.fetchone()
    assert row is not None
    return row[0]


def snapshot_body(snapshot: Snapshot) -> bytes:
    """The raw body; UnreadableSnapshot (a ValueError) if what is stored is damaged."""
    stored = bytes(snapshot.body)
    try:
        if stored.startswith(_ZSTD_MAGIC):
            return zstd.decompress(stored)
        return zlib.decompress(stored)  # stored before zstd
    except (zstd.ZstdError, zlib.error) as exc:
        raise UnreadableSnapshot(f"stored body {snapshot.pk} cannot be read: {exc}") from exc


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
