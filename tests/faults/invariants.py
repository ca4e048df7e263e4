"""What must hold after any fault: no version lost or duplicated, every document's status and
check log true, no alert lost or sent twice."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.utils import timezone

from alerts.models import Delivery, DeliveryState
from platforms.kinds import DocumentStatus
from platforms.models import Document
from snapshots.models import Change, Check, CheckOutcome, Version

RECORDING = {CheckOutcome.FIRST, CheckOutcome.CHANGED}


def settled(doc_ids: Iterable[int]) -> bool:
    """Every document checked successfully and scheduled a full interval ahead (not leased)."""
    ids = list(doc_ids)
    soon = timezone.now() + timedelta(hours=1)
    return Document.objects.filter(
        pk__in=ids, status=DocumentStatus.OK, last_checked_at__isnull=False
    ).filter(next_check_at__gt=soon).count() == len(ids)


def drive(
    broker, *, until: Callable[[], bool], timeout: float, what: str, tasks: Iterable[str], logs=()
) -> None:
    """Do what beat does (send the periodic tasks), every second, until `until()`."""
    tasks = list(tasks)
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}:\n{p.read_text()[-4000:]}" for p in logs)
            raise AssertionError(f"timed out waiting for {what}\n{tails}")
        for task in tasks:
            broker.send_task(task)
        time.sleep(1.0)


def beat_rounds(broker, rounds: int, *, pause: float = 1.0) -> None:
    """Beat's periodic tasks a few more times, for anything that would run twice to show."""
    for _ in range(rounds):
        broker.send_task("snapshots.tasks.dispatch_due_checks")
        broker.send_task("alerts.tasks.resume_deliveries")
        time.sleep(pause)


def assert_tracking_truthful(expected_versions: dict[int, int]) -> None:
    """Each document has exactly the versions expected, none twice, a true status, and a
    check log in which the check that recorded its current version appears once.
    """
    for doc_id, count in expected_versions.items():
        document = Document.objects.get(pk=doc_id)
        versions = list(Version.objects.filter(document=document).order_by("id"))
        shas = [v.sha256 for v in versions]
        assert len(versions) == count, f"document {doc_id}: {len(versions)} versions, not {count}"
        assert all(a != b for a, b in itertools.pairwise(shas)), "a version twice"
        assert Change.objects.filter(document=document).count() == count - 1
        assert document.status == DocumentStatus.OK, (doc_id, document.status)
        assert document.consecutive_failures == 0 and document.last_error == ""
        assert document.last_checked_at is not None
        assert document.next_check_at > timezone.now() + timedelta(hours=1), "still leased"
        checks = Counter(Check.objects.filter(document=document).values_list("outcome", flat=True))
        # A killed or cut-off check left no row; the others ran to the end.
        assert set(checks) <= RECORDING | {CheckOutcome.UNCHANGED}, (doc_id, checks)
        recorded = list(
            Check.objects.filter(document=document, outcome__in=RECORDING).values_list(
                "version_id", flat=True
            )
        )
        assert len(recorded) == len(set(recorded)), f"document {doc_id}: a version logged twice"
        assert set(recorded) <= {v.pk for v in versions}
        assert versions[-1].pk in recorded, (doc_id, checks)
        newest = Check.objects.filter(document=document).order_by("-checked_at", "-id").first()
        assert newest is not None and newest.checked_at == document.last_checked_at


def assert_alerted_once(sink, changes, subscribers) -> None:
    """Every subscriber got exactly one email per change, and the database says so."""
    deliveries = Delivery.objects.filter(change__in=changes)
    assert deliveries.count() == len(changes) * len(subscribers)
    assert set(deliveries.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert sink.recipients() == {s.email: len(changes) for s in subscribers}
    ids = Counter(m.message["Message-ID"] for m in sink.messages)
    assert all(n == 1 for n in ids.values()), ids
    expected = {f"alert.{pk}@" for pk in deliveries.values_list("pk", flat=True)}
    assert {i.strip("<>").split("@")[0] + "@" for i in ids} == expected
