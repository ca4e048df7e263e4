"""Snapshot retention (snapshots/retention.py): orphans always go; old versions' raw bodies
only when TRACK_SNAPSHOT_RETENTION_DAYS is set, and never the text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from platforms.models import Document
from snapshots.models import Snapshot, Version
from snapshots.retention import snapshots_retention_prune
from snapshots.storage import snapshot_store
from snapshots.tasks import prune_snapshots
from tests.factories import DocumentFactory, VersionFactory

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def _body(name: str, *, age: timedelta = timedelta(0)) -> Snapshot:
    snapshot = snapshot_store(
        body=f"<html>{name}</html>".encode(),
        content_type="text/html",
        encoding="utf-8",
        final_url="https://docs.example/terms",
        http_status=200,
    )
    Snapshot.objects.filter(pk=snapshot.pk).update(created_at=timezone.now() - age)
    return snapshot


@pytest.fixture
def history():
    """v1 (100 days) → v2 (60 days) → v3 (10 days, current) → v4 (held, 50 days ago), each
    with its raw body; the document's latest body; and two orphans, old and fresh."""
    now = timezone.now()
    doc = DocumentFactory()
    s1, s2, s3, s4 = (_body(n, age=100 * DAY) for n in ("v1", "v2", "v3", "v4"))
    v1 = VersionFactory(document=doc, observed_at=now - 100 * DAY, snapshot=s1)
    v2 = VersionFactory(document=doc, previous=v1, observed_at=now - 60 * DAY, snapshot=s2)
    v3 = VersionFactory(document=doc, previous=v2, observed_at=now - 10 * DAY, snapshot=s3)
    v4 = VersionFactory(
        document=doc, previous=v3, observed_at=now - 50 * DAY, snapshot=s4, state="held"
    )
    latest = _body("latest", age=100 * DAY)
    Document.objects.filter(pk=doc.pk).update(latest_snapshot=latest)
    old_orphan = _body("crashed check", age=2 * DAY)
    fresh_orphan = _body("check in flight", age=timedelta(minutes=5))
    return {
        "versions": (v1, v2, v3, v4),
        "bodies": (s1, s2, s3, s4),
        "latest": latest,
        "old_orphan": old_orphan,
        "fresh_orphan": fresh_orphan,
    }


def _kept(*snapshots: Snapshot) -> list[bool]:
    ids = set(Snapshot.objects.values_list("pk", flat=True))
    return [s.pk in ids for s in snapshots]


def test_by_default_it_keeps_every_version_body_and_deletes_only_old_orphans(history, settings):
    assert settings.TRACK_SNAPSHOT_RETENTION is None
    report = snapshots_retention_prune(now=timezone.now())
    assert (report.released, report.deleted) == (0, 1)
    assert _kept(history["old_orphan"], history["fresh_orphan"], history["latest"]) == [
        False,
        True,
        True,
    ]
    assert all(_kept(*history["bodies"]))


def test_with_a_retention_it_releases_bodies_of_versions_superseded_before_the_cutoff(history):
    s1, s2, s3, s4 = history["bodies"]
    texts = dict(Version.objects.values_list("pk", "text"))

    report = snapshots_retention_prune(now=timezone.now(), retention=30 * DAY)

    # v1 was superseded 60 days ago: its body goes. v2 was superseded 10 days ago; v3 is
    # current (its successor is only held); the held v4 is waiting for an admin.
    assert (report.released, report.deleted) == (1, 2)  # s1 and the old orphan
    assert _kept(s1, s2, s3, s4) == [False, True, True, True]
    assert list(Version.objects.order_by("pk").values_list("snapshot_id", flat=True)) == [
        None,
        s2.pk,
        s3.pk,
        s4.pk,
    ]
    assert dict(Version.objects.values_list("pk", "text")) == texts  # text is never touched
    assert _kept(history["latest"], history["fresh_orphan"]) == [True, True]
    # Nothing left to do: a second run changes nothing.
    again = snapshots_retention_prune(now=timezone.now(), retention=30 * DAY)
    assert (again.released, again.deleted) == (0, 0)


def test_a_released_body_shared_with_another_version_or_a_latest_pointer_stays(history):
    v1 = history["versions"][0]
    s1 = history["bodies"][0]
    # The same bytes are another document's current version and a third one's latest page.
    VersionFactory(snapshot=s1)
    DocumentFactory(latest_snapshot=s1)
    report = snapshots_retention_prune(now=timezone.now(), retention=30 * DAY)
    assert report.released == 1
    v1.refresh_from_db()
    assert v1.snapshot_id is None
    assert _kept(s1) == [True]


def test_the_beat_task_applies_the_setting(history, settings):
    settings.TRACK_SNAPSHOT_RETENTION = 5 * DAY
    v1, v2, _, _ = history["versions"]
    assert prune_snapshots.delay().get() == "2 version bodies released, 3 snapshots deleted"
    assert list(
        Version.objects.filter(pk__in=[v1.pk, v2.pk]).values_list("snapshot_id", flat=True)
    ) == [None, None]
    assert "prune-snapshots" in settings.CELERY_BEAT_SCHEDULE
    assert (
        settings.CELERY_BEAT_SCHEDULE["prune-snapshots"]["task"]
        == "snapshots.tasks.prune_snapshots"
    )
