from __future__ import annotations

import pytest

from snapshots.models import Snapshot, Version
from snapshots.storage import latest_snapshot_replace, snapshot_body, snapshot_store
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


def test_it_keeps_bodies_behind_versions_and_drops_the_rest():
    doc = DocumentFactory()
    behind_version = store(b"version body")
    VersionFactory(document=doc, snapshot=behind_version)
    latest_snapshot_replace(document=doc, snapshot=behind_version)
    routine = store(b"routine body 1")
    latest_snapshot_replace(document=doc, snapshot=routine)
    newer = store(b"routine body 2")
    latest_snapshot_replace(document=doc, snapshot=newer)
    assert set(Snapshot.objects.values_list("pk", flat=True)) == {behind_version.pk, newer.pk}
    assert Version.objects.get().snapshot_id == behind_version.pk
    doc.refresh_from_db()
    assert doc.latest_snapshot_id == newer.pk
