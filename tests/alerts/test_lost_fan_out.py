"""A published change whose fan-out task was lost before it recorded anything (the broker
restarted with the task queued) is fanned out by the sweeper, once, and only while recent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import FanOut
from tests.alerts.helpers import make_change
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def test_it_restarts_a_fan_out_that_never_started(settings, mailoutbox):
    from alerts.tasks import resume_deliveries

    change = make_change(published_at=timezone.now() - timedelta(hours=1))
    SubscriberFactory.create_batch(2)
    resume_deliveries.delay()
    assert len(mailoutbox) == 2
    assert FanOut.objects.get(change=change).completed_at is not None
    resume_deliveries.delay()
    assert len(mailoutbox) == 2


def test_it_leaves_a_fresh_change_to_the_task_the_pipeline_queued(settings):
    change = make_change(published_at=timezone.now())
    assert change.pk not in services.stalled_work()[0]
    later = timezone.now() + settings.ALERTS_CLAIM_LEASE + timedelta(seconds=1)
    assert services.stalled_work(now=later)[0] == [change.pk]


def test_it_never_restarts_a_change_too_old_to_alert_about(settings):
    make_change(published_at=timezone.now() - settings.ALERTS_MAX_CHANGE_AGE - timedelta(hours=1))
    make_change(published_at=None)
    assert services.stalled_work()[0] == []
