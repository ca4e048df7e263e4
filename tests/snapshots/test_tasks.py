from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.models import Check, Version
from snapshots.tasks import check_document, dispatch_due_checks
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

pytestmark = pytest.mark.django_db

TEXT = "# Terms\n\nWe host what you upload.\n"


def test_it_dispatches_one_check_per_due_document(httpserver):
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TEXT, seed=1), content_type="text/html"
    )
    past = timezone.now() - timedelta(minutes=1)
    due = DocumentFactory.create_batch(3, url=httpserver.url_for("/terms"), next_check_at=past)
    DocumentFactory(next_check_at=timezone.now() + timedelta(hours=1))
    assert dispatch_due_checks.delay().get() == 3
    assert Check.objects.count() == 3
    for doc in due:
        doc.refresh_from_db()
        assert doc.next_check_at > timezone.now() + timedelta(hours=5)


def test_it_is_safe_to_run_a_check_twice(httpserver):
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TEXT, seed=1), content_type="text/html"
    )
    doc = DocumentFactory(url=httpserver.url_for("/terms"))
    check_document.delay(doc.pk)
    check_document.delay(doc.pk)
    assert Version.objects.filter(document=doc).count() == 1
    assert list(Check.objects.order_by("id").values_list("outcome", flat=True)) == [
        "first",
        "unchanged",
    ]


def test_it_ignores_a_document_deleted_after_dispatch():
    doc = DocumentFactory()
    pk = doc.pk
    doc.delete()
    assert check_document.delay(pk).get() is None


def test_it_requeues_a_check_whose_host_is_busy_instead_of_sleeping(
    httpserver, monkeypatch, settings
):
    from snapshots import fetching, tasks
    from snapshots.throttle import LocalHostThrottle

    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TEXT, seed=1), content_type="text/html"
    )
    slept = []
    throttle = LocalHostThrottle(5.0, sleep=slept.append)
    monkeypatch.setattr(fetching, "host_throttle", lambda: throttle)
    requeued = []
    monkeypatch.setattr(
        tasks,
        "enqueue_check",
        lambda doc_id, *, countdown=None: requeued.append((doc_id, countdown)),
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker: there is other work to do
    settings.FETCH_THROTTLE_PATIENCE = 0.5
    doc, other = DocumentFactory.create_batch(2, url=httpserver.url_for("/terms"))

    assert check_document(doc.pk) == "first"
    assert check_document(other.pk) == "host busy"  # same host, 5 s to go: not slept
    assert slept == []
    assert Check.objects.filter(document=other).count() == 0
    ((doc_id, countdown),) = requeued
    assert doc_id == other.pk and 4.8 < countdown <= 5.0  # the promised turn, no jitter

    settings.CELERY_TASK_ALWAYS_EAGER = True  # in-process (make run): waits its turn
    assert check_document(other.pk) == "first"
    assert len(slept) == 1 and len(requeued) == 1
