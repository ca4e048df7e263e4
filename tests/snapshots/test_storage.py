from __future__ import annotations

import zlib

import pytest

from platforms.models import Document
from snapshots.models import Check, Snapshot, Version
from snapshots.storage import (
    UnreadableSnapshot,
    snapshot_body,
    snapshot_drop_if_unused,
    snapshot_store,
)
from tests.factories import DocumentFactory, VersionFactory

pytestmark = pytest.mark.django_db


def store(body: bytes) -> Snapshot:
    return snapshot_store(
        body=body,
        content_type="text/html",
        encoding="utf-8",
        final_url="https://x.example/",
        http_status=200,
    )


def test_it_stores_a_body_once_by_its_content():
    first = store(b"<p>terms</p>" * 1000)
    again = store(b"<p>terms</p>" * 1000)
    assert first.pk == again.pk
    assert Snapshot.objects.count() == 1
    assert snapshot_body(again) == b"<p>terms</p>" * 1000
    assert first.size == 12000
    assert len(bytes(Snapshot.objects.get().body)) < 200  # compressed


def test_it_drops_a_body_only_when_nothing_points_at_it():
    doc = DocumentFactory()
    behind_version = store(b"version body")
    VersionFactory(document=doc, snapshot=behind_version)
    latest = store(b"latest body")
    Document.objects.filter(pk=doc.pk).update(latest_snapshot=latest)
    logged = store(b"body of a logged check")
    Check.objects.create(document=doc, outcome="changed", snapshot=logged)
    routine = store(b"routine body")

    assert [snapshot_drop_if_unused(s.pk) for s in (behind_version, latest, logged, routine)] == [
        0,
        0,
        0,
        1,
    ]
    assert set(Snapshot.objects.values_list("pk", flat=True)) == {
        behind_version.pk,
        latest.pk,
        logged.pk,
    }
    assert Version.objects.get().snapshot_id == behind_version.pk


def test_it_still_reads_bodies_stored_with_zlib():
    page = b"<p>terms stored before zstd</p>" * 100
    old = Snapshot.objects.create(sha256="a" * 64, body=zlib.compress(page, 1), size=len(page))
    assert snapshot_body(Snapshot.objects.get(pk=old.pk)) == page


@pytest.mark.parametrize("damage", [b"", b"\x28\xb5\x2f\xfd broken", b"\x78\x9c broken"])
def test_a_damaged_body_is_a_clear_error(damage):
    snapshot = Snapshot.objects.create(sha256="b" * 64, body=damage, size=10)
    with pytest.raises(UnreadableSnapshot, match=f"stored body {snapshot.pk} cannot be read"):
        snapshot_body(Snapshot.objects.get(pk=snapshot.pk))


def test_reextraction_reports_a_damaged_body_and_changes_nothing():
    from snapshots.reextraction import document_reextract, extraction_preview

    doc = DocumentFactory()
    version = VersionFactory(document=doc)
    damaged = Snapshot.objects.create(sha256="c" * 64, body=b"\x28\xb5\x2f\xfd??", size=10)
    Document.objects.filter(pk=doc.pk).update(latest_snapshot=damaged)
    doc.refresh_from_db()
    assert document_reextract(document=doc).startswith("failed: stored body")
    assert list(Version.objects.values_list("pk", flat=True)) == [version.pk]
    preview = extraction_preview(document=doc, select=[], remove=[], ignore_patterns=[])
    assert "cannot be read" in preview.error
