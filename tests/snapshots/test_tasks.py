from __future__ import annotations

import ast
import base64
import json
import os
import uuid
from datetime import datetime, timedelta
from functools import partial

import pytest
from django.utils import timezone

from snapshots.models import Check, Version
from snapshots.tasks import (
    DISPATCHED_CHECK_PRIORITY,
    check_document,
    checks_enqueuer,
    dispatch_due_checks,
)
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
        lambda doc_id, **options: requeued.append((doc_id, options)),
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker: there is other work to do
    settings.FETCH_THROTTLE_PATIENCE = 0.5
    doc, other = DocumentFactory.create_batch(2, url=httpserver.url_for("/terms"))

    assert check_document(doc.pk) == "first"
    assert check_document(other.pk) == "host busy"  # same host, 5 s to go: not slept
    assert slept == []
    assert Check.objects.filter(document=other).count() == 0
    ((doc_id, options),) = requeued
    assert doc_id == other.pk and 4.8 < options["countdown"] <= 5.0  # at its slot, no jitter
    assert options["reservation"].host == "localhost"

    settings.CELERY_TASK_ALWAYS_EAGER = True  # in-process (make run): waits its turn
    assert check_document(other.pk) == "first"
    assert len(slept) == 1 and len(requeued) == 1


def queued_messages(client, key: str) -> list[tuple[list, dict, dict]]:
    """(args, kwargs, headers) of each task in the queue, in the order workers take them."""
    out = []
    for raw in reversed(client.lrange(key, 0, -1)):
        message = json.loads(raw)
        args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
        out.append((args, kwargs, message["headers"]))
    return out


def test_a_check_requeued_for_a_busy_host_comes_back_holding_its_slot(
    httpserver, monkeypatch, settings, broker_queue
):
    from snapshots import fetching
    from snapshots.throttle import LocalHostThrottle

    connection, client, key = broker_queue
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TEXT, seed=1), content_type="text/html"
    )
    clock, slept = [100.0], []
    throttle = LocalHostThrottle(5.0, clock=lambda: clock[0], sleep=slept.append)
    monkeypatch.setattr(fetching, "host_throttle", lambda: throttle)
    send = partial(check_document.apply_async, connection=connection)
    monkeypatch.setattr(check_document, "apply_async", send)
    settings.FETCH_THROTTLE_PATIENCE = 0.5
    doc, held, newcomer = DocumentFactory.create_batch(3, url=httpserver.url_for("/terms"))

    assert check_document(doc.pk) == "first"
    assert check_document(held.pk) == "host busy"
    ((args, kwargs, headers),) = queued_messages(client, key)
    assert args == [held.pk] and kwargs == {"reservation": ["localhost", 105_000_000]}
    eta = datetime.fromisoformat(headers["eta"])
    assert timedelta(seconds=4.5) < eta - timezone.now() <= timedelta(seconds=5)

    clock[0] = 105.0  # the held slot: a newcomer is turned away, the holder goes
    assert check_document(newcomer.pk) == "host busy"
    assert check_document(*args, **kwargs) == "first"
    assert slept == []
    assert Check.objects.filter(document=held).count() == 1
    assert queued_messages(client, key)[-1][1] == {"reservation": ["localhost", 110_000_000]}


@pytest.mark.parametrize(
    "reservation",
    ["localhost", ["localhost"], ["localhost", "105000000"], {"host": "localhost"}, 12],
)
def test_a_check_with_a_malformed_reservation_is_checked_as_a_newcomer(
    httpserver, settings, reservation
):
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html(TEXT, seed=1), content_type="text/html"
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    doc = DocumentFactory(url=httpserver.url_for("/terms"))
    assert check_document(doc.pk, reservation=reservation) == "first"


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


# kombu's Redis list for the priority step a dispatch's checks are sent at.
DISPATCHED = f"\x06\x16{DISPATCHED_CHECK_PRIORITY}"


def test_a_dispatch_sends_its_checks_together_and_in_order(broker_queue):
    connection, client, key = broker_queue
    with checks_enqueuer(connection) as enqueue:
        for doc_id in (3, 1, 2):
            enqueue(doc_id)
        assert client.llen(key + DISPATCHED) == 0  # held until the batch is complete
    assert queued_document_ids(client, key + DISPATCHED) == [3, 1, 2]


def test_a_dispatch_that_fails_sends_nothing_half_way(broker_queue):
    connection, client, key = broker_queue
    with pytest.raises(RuntimeError), checks_enqueuer(connection) as enqueue:
        enqueue(1)
        raise RuntimeError("the database went away")
    # The claimed documents come due again when their lease runs out.
    assert client.llen(key + DISPATCHED) == client.llen(key) == 0


def test_workers_take_requeued_checks_before_a_dispatch(broker_queue):
    connection, client, key = broker_queue
    with checks_enqueuer(connection) as enqueue:
        for doc_id in (1, 2):
            enqueue(doc_id)
    # Re-queued for its reserved slot (or an admin's "Check now"): the default priority.
    check_document.apply_async((3,), connection=connection)
    assert queued_document_ids(client, key) == [3]
    # The order in which kombu hands messages out, as to a worker.
    taken = []
    with connection.SimpleQueue("celery") as queue:
        for _ in range(3):
            message = queue.get(timeout=2)
            taken.append(ast.literal_eval(message.headers["argsrepr"])[0])
            message.ack()
    assert taken == [3, 1, 2]
