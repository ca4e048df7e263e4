"""PostgreSQL restarted (`pg_ctl restart -m fast`: every connection terminated) while a real
worker is in the middle of checks. Afterwards every document is checked, no version is
missing or doubled, statuses are true, and the same worker goes on working, untouched.

The database is a private cluster (the shared server is never restarted): for this test the
test process's own connection points at it too.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from platforms.models import Document
from snapshots.models import Check, Version
from tests.factories import DocumentFactory, PlatformFactory
from tests.faults.invariants import assert_tracking_truthful, drive, settled
from tests.faults.processes import Worker, database_url, process_env, wait_until
from tests.faults.servers import PageSite

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 4  # seconds
DOCUMENTS = 12
BODY = "We host your uploads. You keep your rights. We may use your uploads to train AI models."


@contextmanager
def _default_database_at(**overrides):
    """Point the `default` connection somewhere else for a while (then back, unchanged)."""
    connection.close()
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(overrides)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def private_db(pg_cluster, transactional_db):
    name = "clausewatch_faults"
    pg_cluster.createdb(name)
    with _default_database_at(
        HOST="127.0.0.1", PORT=str(pg_cluster.port), USER="root", PASSWORD="", NAME=name
    ):
        call_command("migrate", verbosity=0, interactive=False)
        yield pg_cluster


def test_it_checks_every_document_once_when_postgres_restarts_mid_check(
    private_db, redis_server, broker, running, tmp_path
):
    # Slow pages: the restart finds checks in their fetch, their recording, their logging.
    with PageSite(delay=0.25) as site:
        platform = PlatformFactory()
        docs = [
            DocumentFactory(platform=platform, url=site.add(f"/terms-{n}", f"Terms {n}", BODY))
            for n in range(DOCUMENTS)
        ]
        env = process_env(
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=redis_server.url(),
            EMAIL_URL="console://",
            FAULTS_TRACK_CLAIM_LEASE_SECONDS=str(LEASE),
        )
        worker = Worker(env, tmp_path / "worker.log")
        running.append(worker)
        worker.start()
        broker.send_task("snapshots.tasks.dispatch_due_checks")
        wait_until(
            lambda: Check.objects.count() >= 3,
            timeout=60,
            what="the first checks",
            logs=(worker.log,),
        )
        connection.close()
        private_db.restart("fast")
        restarted_at = timezone.now()
        pid = worker.process.pid

        ids = [d.pk for d in docs]
        drive(
            broker,
            until=lambda: settled(ids),
            timeout=60,
            what="every document checked after the restart",
            tasks=["snapshots.tasks.dispatch_due_checks"],
            logs=(worker.log, private_db.log),
        )
        log = worker.log.read_text()
        assert "OperationalError" in log or "InterfaceError" in log, "the restart hit no check"
        retried = log.count("] retry: Retry in")

        # The same worker, never restarted, takes new work: a document that changed.
        assert worker.alive and worker.process.pid == pid
        changed = docs[0]
        site.add("/terms-0", "Terms 0", BODY + " We may share your uploads with partners.")
        Document.objects.filter(pk=changed.pk).update(next_check_at=timezone.now())
        drive(
            broker,
            until=lambda: (
                Version.objects.filter(document=changed).count() == 2 and settled([changed.pk])
            ),
            timeout=30,
            what="the worker to check again after the restart",
            tasks=["snapshots.tasks.dispatch_due_checks"],
            logs=(worker.log,),
        )
        assert Check.objects.filter(document=changed, checked_at__gt=restarted_at).exists()
        worker.stop()

    # A check commits its version, its log entry and the document's state together, so a
    # check cut off by the restart left all or nothing, and every version is logged.
    assert_tracking_truthful({d.pk: 2 if d == changed else 1 for d in docs})
    assert not Version.objects.filter(document__in=docs, checks__isnull=True).exists()
    print(f"checks retried after the restart: {retried}")
