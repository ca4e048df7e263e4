"""row_insert and row_update: the check's two writes, with SQL built once, as the ORM writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from platforms.kinds import DocumentStatus
from platforms.models import Document
from snapshots.models import Check, CheckOutcome
from snapshots.rows import row_insert, row_update
from snapshots.storage import snapshot_store
from tests.factories import DocumentFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_an_inserted_row_reads_back_as_the_orm_wrote_it():
    doc = DocumentFactory()
    version = VersionFactory(document=doc)
    now = timezone.now()
    check = Check(
        document=doc,
        checked_at=now,
        outcome=CheckOutcome.CHANGED,
        http_status=200,
        bytes=123_456,
        error="é 🙂 'quoted' \"twice\"",
        version=version,
    )
    row_insert(check)
    assert check.pk is not None and not check._state.adding
    stored = Check.objects.get(pk=check.pk)
    assert (stored.document_id, stored.version_id, stored.snapshot_id) == (doc.pk, version.pk, None)
    assert (stored.checked_at, stored.outcome, stored.bytes) == (now, "changed", 123_456)
    assert (stored.fetcher, stored.duration_ms, stored.error) == ("http", 0, check.error)
    second = Check(document=doc, outcome=CheckOutcome.UNCHANGED)
    row_insert(second)
    assert second.pk > check.pk


def test_an_update_writes_only_the_columns_given_by_name_or_attname():
    doc = DocumentFactory(title="Terms")
    snapshot = snapshot_store(
        body=b"<p>terms</p>",
        content_type="text/html",
        encoding="utf-8",
        final_url="",
        http_status=200,
    )
    later = timezone.now() + timedelta(hours=6)
    assert (
        row_update(
            Document,
            doc.pk,
            {
                "status": DocumentStatus.FAILING,
                "next_check_at": later,
                "latest_snapshot_id": snapshot.pk,
            },
        )
        == 1
    )
    doc.refresh_from_db()
    assert (doc.status, doc.next_check_at, doc.latest_snapshot_id) == (
        DocumentStatus.FAILING,
        later,
        snapshot.pk,
    )
    assert doc.title == "Terms"
    assert row_update(Document, doc.pk + 1000, {"status": DocumentStatus.OK}) == 0


def test_it_refuses_what_is_not_a_column():
    doc = DocumentFactory()
    with pytest.raises(ValueError, match="not an updatable column"):
        row_update(Document, doc.pk, {"id": 5})
