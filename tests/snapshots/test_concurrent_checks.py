"""Two workers checking the same document at the same moment must not fork its history."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from snapshots.models import Change, Version
from snapshots.recording import text_record
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(document, texts):
    barrier = threading.Barrier(len(texts))
    outcomes = []

    def worker(text):
        barrier.wait()
        try:
            outcomes.append(
                text_record(document=document, text=text, observed_at=timezone.now()).outcome
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_it_records_one_first_version_when_two_workers_race():
    doc = DocumentFactory()
    outcomes = race(doc, ["# Terms\n\nSame text.\n"] * 2)
    assert Version.objects.filter(document=doc).count() == 1
    assert sorted(outcomes) == ["first", "unchanged"]


def test_it_records_one_change_when_two_workers_see_the_same_new_text():
    doc = DocumentFactory()
    text_record(
        document=doc, text="# Terms\n\nOld text of the terms.\n", observed_at=timezone.now()
    )
    outcomes = race(doc, ["# Terms\n\nNew text of the terms.\n"] * 2)
    assert Version.objects.filter(document=doc).count() == 2
    assert Change.objects.filter(document=doc).count() == 1
    assert sorted(outcomes) == ["changed", "unchanged"]


def test_it_records_a_document_without_locking_its_platform():
    """The recording lock is the document's row alone, not its platform's (a JOIN away):
    otherwise every recording check of a platform, and any edit of it, would wait in line.
    """
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite serializes all writers)")
    from django.db import connections, transaction

    doc = DocumentFactory()
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            # The platform's row held by someone else (an admin saving it, another check).
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM platforms_platform WHERE id = %s FOR UPDATE", [doc.platform_id]
            )
            with transaction.atomic():
                with connection.cursor() as mine:
                    mine.execute("SET LOCAL lock_timeout = '3s'")
                recorded = text_record(
                    document=doc, text="# Terms\n\nText.\n", observed_at=timezone.now()
                )
            assert recorded.outcome == "first"
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
