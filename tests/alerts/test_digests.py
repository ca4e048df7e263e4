from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import services
from alerts.models import Delivery
from alerts.tasks import send_digests
from tests.alerts.helpers import make_change
from tests.factories import DocumentFactory, PlatformFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime(2025, 3, 3, tzinfo=UTC)


def _at(day: int, hour: int = 12) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour)


def _run(frequency: str, now: datetime) -> int:
    period_end, chunks = services.digest_plan(frequency=frequency, now=now)
    sent = 0
    for chunk in chunks:
        ids = services.digests_build(
            frequency=frequency, period_end=period_end, subscriber_ids=chunk
        )
        sent += services.deliveries_send(delivery_ids=ids).sent
    return sent


def test_it_ends_periods_at_midnight_and_on_monday_utc():
    now = datetime(2025, 3, 6, 15, 30, tzinfo=UTC)  # a Thursday
    assert services.digest_period_end(frequency="daily", now=now) == datetime(
        2025, 3, 6, tzinfo=UTC
    )
    assert services.digest_period_end(frequency="weekly", now=now) == MONDAY


def test_it_sends_one_daily_digest_of_every_matching_change_since_the_last(mailoutbox, settings):
    settings.ALERTS_MAX_CHANGE_AGE = timedelta(days=10_000)
    platform, elsewhere = PlatformFactory(name="SoundCloud"), PlatformFactory(name="Elsewhere")
    doc = DocumentFactory(platform=platform, title="Terms of Use")
    subscriber = SubscriberFactory(
        email="daily@example.org",
        frequency="daily",
        ai_only=True,
        platforms=[platform],
        digest_since=_at(0, 1),
    )
    first = make_change(document=doc, published_at=_at(0, 9))
    second = make_change(
        document=doc,
        new_text=first.new_version.text + "\nAI models are trained on posts.\n",
        published_at=_at(0, 18),
    )
    plain = make_change(
        document=doc,
        new_text=second.new_version.text + "\nContact support by email.\n",
        published_at=_at(0, 19),
    )
    assert not plain.ai_relevant
    make_change(
        document=DocumentFactory(platform=elsewhere), published_at=_at(0, 10)
    )  # not followed
    make_change(  # archive history
        document=doc,
        new_text=plain.new_version.text + "\nWe train AI on it.\n",
        published_at=_at(0, 8),
        alertable=False,
    )

    assert _run("daily", _at(1, 0)) == 1
    assert _run("daily", _at(1, 5)) == 0  # the same period again: nothing
    [message] = mailoutbox
    assert message.to == [subscriber.email]
    assert message.subject == "Your daily Clausewatch digest: 2 changes on SoundCloud — 2 touch AI"
    html = message.alternatives[0].content
    assert html.index(f"/changes/{first.pk}/") < html.index(f"/changes/{second.pk}/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery = Delivery.objects.get()
    assert delivery.change_ids == [first.pk, second.pk]
    assert (delivery.period_start, delivery.period_end) == (_at(0, 1), _at(1, 0))

    # The next digest holds only what was published after the last one.
    third = make_change(
        document=doc,
        new_text=plain.new_version.text + "\nWe license your content for AI training.\n",
        published_at=_at(1, 9),
    )
    assert _run("daily", _at(2, 0)) == 1
    assert Delivery.objects.latest("id").change_ids == [third.pk]
    assert len(mailoutbox) == 2


def test_it_sends_no_digest_when_nothing_changed(mailoutbox):
    SubscriberFactory(frequency="daily", digest_since=_at(0, 0))
    assert _run("daily", _at(1, 0)) == 0
    assert mailoutbox == []
    assert not Delivery.objects.exists()


def test_it_sends_weekly_digests_only_to_weekly_subscribers(mailoutbox, settings):
    settings.ALERTS_MAX_CHANGE_AGE = timedelta(days=10_000)
    weekly = SubscriberFactory(frequency="weekly", digest_since=_at(-7))
    SubscriberFactory(frequency="daily", digest_since=_at(-7))
    for day in (-6, -4, -1):
        make_change(published_at=_at(day))
    assert _run("weekly", _at(0, 1)) == 1
    [message] = mailoutbox
    assert message.to == [weekly.email]
    assert message.subject.startswith("Your weekly Clausewatch digest: 3 changes on ")


def test_it_leaves_out_changes_from_before_the_subscriber_confirmed(mailoutbox):
    make_change(published_at=_at(0, 9))
    SubscriberFactory(frequency="daily", digest_since=_at(0, 10))
    assert _run("daily", _at(1, 0)) == 0


def test_it_does_not_send_a_digest_to_someone_who_left(mailoutbox):
    from alerts.models import SubscriberStatus

    SubscriberFactory(
        frequency="daily", digest_since=_at(0, 0), status=SubscriberStatus.UNSUBSCRIBED
    )
    make_change(published_at=_at(0, 9))
    assert _run("daily", _at(1, 0)) == 0


def test_it_runs_from_the_beat_task(mailoutbox, settings):
    from django.utils import timezone

    settings.ALERTS_MAX_CHANGE_AGE = timedelta(days=10_000)
    yesterday = timezone.now() - timedelta(days=1)
    SubscriberFactory(frequency="daily", digest_since=yesterday - timedelta(days=1))
    make_change(
        published_at=services.digest_period_end(frequency="daily", now=timezone.now())
        - timedelta(hours=1)
    )
    send_digests.delay("daily")
    send_digests.delay("daily")
    assert len(mailoutbox) == 1
    beat = {e["task"]: e for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "alerts.tasks.send_digests" in beat and "alerts.tasks.resume_deliveries" in beat
