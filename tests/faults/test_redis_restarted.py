"""Redis restarted while tasks wait in it. Like production, it keeps nothing on disk, so the
queued checks, fan-out and delivery tasks are gone: the claim lease and the alerts sweeper
must bring every one of them back, and nothing may run twice to the point of a second
version or a second email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts import services as alerts
from alerts.models import Delivery, FanOut
from snapshots.scheduling import checks_dispatch
from tests.alerts.helpers import make_change
from tests.factories import DocumentFactory, PlatformFactory, SubscriberFactory
from tests.faults.invariants import (
    assert_alerted_once,
    assert_tracking_truthful,
    beat_rounds,
    drive,
    settled,
)
from tests.faults.processes import Worker, database_url, process_env
from tests.faults.servers import PageSite

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LEASE = 3  # seconds: TRACK_CLAIM_LEASE and ALERTS_CLAIM_LEASE
BODY = "We host your uploads. You keep your rights. We may use your uploads to train AI models."


def test_it_checks_and_alerts_everything_once_after_redis_lost_the_queue(
    redis_server, redis_client, broker, smtp, running, tmp_path, settings
):
    settings.TRACK_CLAIM_LEASE = timedelta(seconds=LEASE)
    settings.ALERTS_CLAIM_LEASE = timedelta(seconds=LEASE)
    later = timezone.now() + timedelta(days=1)
    platform = PlatformFactory()
    subscribers = SubscriberFactory.create_batch(3)
    # Change A was just published: its fan-out task is queued, nothing else exists yet.
    change_a = make_change(document=DocumentFactory(platform=platform, next_check_at=later))
    # Change B's fan-out ran: its deliveries exist and their send task is queued.
    change_b = make_change(document=DocumentFactory(platform=platform, next_check_at=later))
    chunks = alerts.change_fan_out(change_id=change_b.pk)

    with PageSite() as site:
        docs = [
            DocumentFactory(platform=platform, url=site.add(f"/terms-{n}", f"Terms {n}", BODY))
            for n in range(5)
        ]
        # What beat's dispatcher does: claim the due documents, enqueue one check each.
        dispatched = checks_dispatch(
            now=timezone.now(),
            enqueue=lambda pk: broker.send_task("snapshots.tasks.check_document", args=[pk]),
        )
        assert dispatched == len(docs)
        broker.send_task("alerts.tasks.fan_out_change", args=[change_a.pk])
        for chunk in chunks:
            broker.send_task("alerts.tasks.send_deliveries", args=[chunk])
        assert redis_client.llen("celery") == len(docs) + 1 + len(chunks)

        redis_server.restart()
        assert redis_client.llen("celery") == 0  # every queued task is lost

        env = process_env(
            DATABASE_URL=database_url(connection.settings_dict),
            REDIS_URL=redis_server.url(),
            EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}?timeout=5",
            SECRET_KEY=settings.SECRET_KEY,
            FAULTS_TRACK_CLAIM_LEASE_SECONDS=str(LEASE),
            ALERTS_CLAIM_LEASE_SECONDS=str(LEASE),
        )
        worker = Worker(env, tmp_path / "worker.log")
        running.append(worker)
        worker.start()
        # Nothing is owed to anyone until beat's tasks notice what was lost.
        expected_emails = 2 * len(subscribers)
        drive(
            broker,
            until=lambda: settled([d.pk for d in docs]) and len(smtp.messages) >= expected_emails,
            timeout=60,
            what="every document checked and every alert sent",
            tasks=["snapshots.tasks.dispatch_due_checks", "alerts.tasks.resume_deliveries"],
            logs=(worker.log,),
        )
        # A few more rounds of beat: nothing more may happen.
        beat_rounds(broker, 2)
        worker.stop()

    assert_tracking_truthful({d.pk: 1 for d in docs})
    assert FanOut.objects.filter(change__in=[change_a, change_b]).count() == 2
    assert Delivery.objects.count() == expected_emails
    assert_alerted_once(smtp, [change_a, change_b], subscribers)
