"""A real Celery worker SIGKILLed in the middle of three checks: one waiting on its page, one
inside the transaction that records a new version, one whose COMMIT is on its way. A new
worker, the claim lease, the alerts sweeper and the redelivered tasks finish the job: every
version recorded once, one alert per change, statuses true, nothing stuck.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from snapshots.models import Change, Version
from tests.factories import DocumentFactory, PlatformFactory, SubscriberFactory, VersionFactory
from tests.faults.invariants import assert_alerted_once, assert_tracking_truthful, drive, settled
from tests.faults.processes import Worker, database_url, process_env, wait_until
from tests.faults.servers import PageSite

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 3  # seconds: TRACK_CLAIM_LEASE and ALERTS_CLAIM_LEASE
BODY = "We host your uploads. You keep your rights. We may use your uploads to train AI models."
OLD = "# Terms\n\nWe host your uploads.\n"


def _waiting_on_locks(cursor) -> list[str]:
    """What the backends of this database that wait on a lock are running.

    By statement, not by count: a backend left waiting by an earlier test in the same
    database must not pass for one of ours.
    """
    # Inside a transaction pg_stat_activity is a snapshot unless cleared.
    cursor.execute("SELECT pg_stat_clear_snapshot()")
    cursor.execute(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return [row[0] for row in cursor.fetchall()]


def _recording_and_committing(cursor) -> bool:
    waiting = _waiting_on_locks(cursor)
    inserting = any(q.startswith('INSERT INTO "snapshots_version"') for q in waiting)
    return inserting and any(q.strip().upper() == "COMMIT" for q in waiting)


def _connect():
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )


def test_it_records_every_version_once_when_the_worker_is_killed_mid_check(
    redis_server, broker, smtp, running, tmp_path
):
    now = timezone.now()
    platform = PlatformFactory()
    subscriber = SubscriberFactory()
    with PageSite() as site:

        def document(path: str, minutes_overdue: int):
            return DocumentFactory(
                platform=platform,
                url=site.add(path, path.strip("/"), BODY),
                next_check_at=now - timedelta(minutes=minutes_overdue),
            )

        # Due first, so that they are what the worker's three processes are busy with.
        in_fetch = document("/in-fetch", 5)
        in_record = document("/in-record", 4)
        at_commit = document("/at-commit", 3)
        # Tracked before: their checks find a new text and record a version and a change.
        in_record_current = VersionFactory(document=in_record, text=OLD)
        at_commit_current = VersionFactory(document=at_commit, text=OLD)
        others = [document(f"/other-{n}", 1) for n in range(4)]
        release = site.stall("/in-fetch")

        env = process_env(
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=redis_server.url(),
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}?timeout=5",
            SECRET_KEY=settings.SECRET_KEY,
            FAULTS_TRACK_CLAIM_LEASE_SECONDS=str(LEASE),
            ALERTS_CLAIM_LEASE_SECONDS=str(LEASE),
            # The killed worker's unacknowledged tasks come back too (after an hour in
            # production): a second run, after the lease has had the checks done.
            FAULTS_VISIBILITY_TIMEOUT="12",
        )
        worker = Worker(env, tmp_path / "worker.log", concurrency=3)
        running.append(worker)

        with _connect() as blocker, blocker.cursor() as cursor:
            # in_record: an uncommitted competing successor of its current version. The
            # worker's INSERT of the new version waits on the unique index, inside its
            # recording transaction.
            cursor.execute(
                "INSERT INTO snapshots_version (document_id, previous_id, text, sha256, "
                "word_count, observed_at, source, source_url, state, held_reason, created_at) "
                "VALUES (%s, %s, 'x', 'x', 1, now(), 'live', '', 'published', '', now())",
                [in_record.pk, in_record_current.pk],
            )
            # at_commit: its current version locked. Foreign keys are checked at COMMIT
            # (Django makes them deferrable), so the worker's COMMIT waits on this lock.
            cursor.execute(
                "SELECT id FROM snapshots_version WHERE id = %s FOR UPDATE",
                [at_commit_current.pk],
            )
            worker.start()
            broker.send_task("snapshots.tasks.dispatch_due_checks")
            wait_until(
                lambda: site.stalled["/in-fetch"] == 1 and _recording_and_committing(cursor),
                timeout=60,
                what="a check in its fetch, one in its recording, one in its COMMIT",
                logs=(worker.log,),
            )
            worker.kill()
            blocker.rollback()
        release.set()

        # The recording transaction died with its worker; the COMMIT that was already sent
        # went through with the check's log entry and the document's state (one transaction),
        # though the worker never enqueued the alert: delay_on_commit runs in the dead process.
        wait_until(
            lambda: Version.objects.filter(document=at_commit).count() == 2,
            timeout=10,
            what="the COMMIT in flight to finish",
        )
        assert Version.objects.filter(document=in_record).count() == 1
        for doc in (in_fetch, in_record):
            doc.refresh_from_db()
            assert doc.last_checked_at is None and doc.checks.count() == 0
            assert doc.next_check_at <= timezone.now() + timedelta(seconds=LEASE)
        at_commit.refresh_from_db()
        (logged,) = at_commit.checks.all()
        assert logged.version_id == Version.objects.filter(document=at_commit).latest("id").pk
        assert at_commit.last_checked_at == logged.checked_at
        assert at_commit.next_check_at > timezone.now() + timedelta(hours=1)

        worker.start()
        ids = [in_fetch.pk, in_record.pk, at_commit.pk, *(d.pk for d in others)]
        drive(
            broker,
            until=lambda: settled(ids) and len(smtp.messages) >= 2,
            timeout=60,
            what="every document checked and both alerts sent",
            tasks=["snapshots.tasks.dispatch_due_checks", "alerts.tasks.resume_deliveries"],
            logs=(worker.log,),
        )
        # The killed tasks are handed out again after the visibility timeout: running the
        # same checks again must change nothing.
        wait_until(
            lambda: all(doc.checks.count() >= 2 for doc in (in_fetch, in_record, at_commit)),
            timeout=20,
            what="the killed tasks to be redelivered and run",
            logs=(worker.log,),
        )
        worker.stop()

    assert_tracking_truthful(
        {in_fetch.pk: 1, in_record.pk: 2, at_commit.pk: 2} | {d.pk: 1 for d in others}
    )
    changes = list(Change.objects.filter(document__in=[in_record, at_commit]))
    assert len(changes) == 2
    assert_alerted_once(smtp, changes, [subscriber])
