from __future__ import annotations

import ast
import json
import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.models import Check, Version
from snapshots.tasks import check_document, checks_enqueuer, dispatch_due_checks
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


@pytest.fixture
def broker_queue(settings):
    """A broker connection to the test Redis whose keys carry a prefix of their own, and the
    key of its default queue; skipped without Redis."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"Redis is not reachable at {url}")
    # As in beat: checks go to the broker, not run in-process.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app = check_document.app
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    prefix = f"clausewatch-test:{uuid.uuid4().hex}:"
    options = {"global_keyprefix": prefix}
    try:
        with app.connection_for_write(url, transport_options=options) as connection:
            yield connection, client, f"{prefix}celery"
    finally:
        app.conf.task_always_eager = eager
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def queued_document_ids(client, key: str) -> list[int]:
    """The check tasks in the queue, in the order workers take them (LPUSH, BRPOP)."""
    messages = [json.loads(raw) for raw in reversed(client.lrange(key, 0, -1))]
    assert {m["headers"]["task"] for m in messages} <= {"snapshots.tasks.check_document"}
    return [ast.literal_eval(m["headers"]["argsrepr"])[0] for m in messages]


def test_a_dispatch_sends_its_checks_together_and_in_order(broker_queue):
    connection, client, key = broker_queue
    with checks_enqueuer(connection) as enqueue:
        for doc_id in (3, 1, 2):
            enqueue(doc_id)
        assert client.llen(key) == 0  # held until the batch is complete
    assert queued_document_ids(client, key) == [3, 1, 2]


def test_a_dispatch_that_fails_sends_nothing_half_way(broker_queue):
    connection, client, key = broker_queue
    with pytest.raises(RuntimeError), checks_enqueuer(connection) as enqueue:
        enqueue(1)
        raise RuntimeError("the database went away")
    # The claimed documents come due again when their lease runs out.
    assert client.llen(key) == 0
