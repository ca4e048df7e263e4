from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from snapshots.models import Check, CheckOutcome
from snapshots.scheduling import check_log_prune, checks_dispatch, due_documents_claim
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def test_it_claims_only_active_documents_that_are_due():
    now = timezone.now()
    due = DocumentFactory(next_check_at=now - timedelta(minutes=1))
    DocumentFactory(next_check_at=now + timedelta(hours=1))
    DocumentFactory(next_check_at=now - timedelta(minutes=1), active=False)
    assert due_documents_claim(now=now) == [due.pk]
    due.refresh_from_db()
    # Leased: not due again until the lease runs out (the worker may have died).
    assert due.next_check_at > now
    assert due_documents_claim(now=now) == []
    assert due_documents_claim(now=due.next_check_at) == [due.pk]


def test_it_claims_the_most_overdue_first_within_the_batch(settings):
    settings.TRACK_DISPATCH_BATCH = 2
    now = timezone.now()
    docs = [DocumentFactory(next_check_at=now - timedelta(minutes=m)) for m in (1, 30, 10)]
    assert due_documents_claim(now=now) == [docs[1].pk, docs[2].pk]


def test_one_host_does_not_crowd_the_others_out_of_a_batch(settings):
    settings.TRACK_DISPATCH_BATCH = 4
    now = timezone.now()
    busy = [
        DocumentFactory(url=f"https://a.example/{n}", next_check_at=now - timedelta(hours=n))
        for n in range(10, 4, -1)
    ]
    others = [
        DocumentFactory(url=f"https://b.example/{n}", next_check_at=now - timedelta(hours=n))
        for n in (2, 1)
    ]
    # a.example's six are the most overdue, but it takes its share (2) while b's are due.
    assert due_documents_claim(now=now) == [busy[0].pk, busy[1].pk, others[0].pk, others[1].pk]
    # Nothing but a.example's left: the batch is full of them.
    assert due_documents_claim(now=now) == [doc.pk for doc in busy[2:]]


@pytest.mark.django_db(transaction=True)
def test_it_never_hands_one_document_to_two_dispatchers():
    now = timezone.now()
    docs = DocumentFactory.create_batch(30, next_check_at=now - timedelta(minutes=1))
    results: list[list[int]] = []
    barrier = threading.Barrier(2)

    def dispatch():
        barrier.wait()
        try:
            results.append(due_documents_claim(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = results[0] + results[1]
    assert sorted(claimed) == sorted(d.pk for d in docs)
    assert len(set(claimed)) == len(claimed)


def test_it_prunes_old_routine_checks_and_keeps_the_record(settings):
    settings.TRACK_CHECK_RETENTION = timedelta(days=30)
    now = timezone.now()
    doc = DocumentFactory()
    old = now - timedelta(days=31)
    for outcome in (
        CheckOutcome.UNCHANGED,
        CheckOutcome.NOT_MODIFIED,
        CheckOutcome.CHANGED,
        CheckOutcome.ERROR,
    ):
        Check.objects.create(document=doc, outcome=outcome, checked_at=old)
    Check.objects.create(document=doc, outcome=CheckOutcome.UNCHANGED, checked_at=now)
    assert check_log_prune(now=now) == 2
    assert sorted(Check.objects.values_list("outcome", flat=True)) == [
        "changed",
        "error",
        "unchanged",
    ]


def test_it_spreads_each_hosts_checks_over_the_queue():
    now = timezone.now()
    due = now - timedelta(minutes=1)
    a1 = DocumentFactory(url="https://a.example/terms", next_check_at=due - timedelta(seconds=9))
    a2 = DocumentFactory(
        url="https://www.a.example/privacy", next_check_at=due - timedelta(seconds=8)
    )
    a3 = DocumentFactory(url="https://a.example/ai", next_check_at=due - timedelta(seconds=7))
    others = [
        DocumentFactory(url=f"https://{name}.example/terms", next_check_at=due) for name in "bcde"
    ]
    b1, c1, d1, e1 = (doc.pk for doc in others)
    sent: list[int] = []
    assert checks_dispatch(now=now, enqueue=sent.append) == 7
    # Oldest due first within a host, and a.example's checks between the other hosts':
    # plain turns would have sent a, b, c, d, e, a, a.
    assert sent == [a1.pk, b1, a2.pk, c1, d1, a3.pk, e1]
    assert checks_dispatch(now=now, enqueue=sent.append) == 0


def test_hosts_keep_their_order_from_one_batch_to_the_next():
    now = timezone.now()
    due = now - timedelta(minutes=1)
    # The first batch finds z.example's document first, the second a.example's.
    z1 = DocumentFactory(url="https://z.example/terms", next_check_at=due - timedelta(seconds=4))
    a1 = DocumentFactory(url="https://a.example/terms", next_check_at=due - timedelta(seconds=3))
    a2 = DocumentFactory(url="https://a.example/ai", next_check_at=due - timedelta(seconds=2))
    z2 = DocumentFactory(url="https://z.example/ai", next_check_at=due - timedelta(seconds=1))
    sent: list[int] = []
    assert checks_dispatch(now=now, enqueue=sent.append, limit=2) == 2
    assert checks_dispatch(now=now, enqueue=sent.append, limit=2) == 2
    # Never two checks of one host side by side, across the batches too.
    assert sent == [a1.pk, z1.pk, a2.pk, z2.pk]
