from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django.utils.html import escape

from alerts import services
from alerts.models import Delivery, DeliveryState, FanOut, SubscriberStatus
from alerts.tasks import fan_out_change
from snapshots.diff_render import render_email_html, render_text
from snapshots.diffing import Diff
from snapshots.models import VersionSource
from tests.alerts.helpers import PLAIN_NEW, make_change
from tests.factories import (
    DocumentFactory,
    PendingSubscriberFactory,
    PlatformFactory,
    StatementFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


def _recipients(outbox) -> list[str]:
    return sorted(address for message in outbox for address in message.to)


def test_it_alerts_matching_confirmed_instant_subscribers_only(mailoutbox):
    platform, elsewhere = PlatformFactory(), PlatformFactory()
    change = make_change(document=DocumentFactory(platform=platform))
    assert change.ai_relevant
    SubscriberFactory(email="all@example.org")
    SubscriberFactory(email="follows@example.org", platforms=[platform])
    SubscriberFactory(email="ai-only@example.org", ai_only=True)
    SubscriberFactory(email="other-platform@example.org", platforms=[elsewhere])
    SubscriberFactory(email="daily@example.org", frequency="daily")
    SubscriberFactory(email="left@example.org", status=SubscriberStatus.UNSUBSCRIBED)
    PendingSubscriberFactory(email="pending@example.org")

    assert fan_out_change.delay(change.pk).get() == 3

    assert _recipients(mailoutbox) == [
        "ai-only@example.org",
        "all@example.org",
        "follows@example.org",
    ]
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 3
    assert FanOut.objects.get(change=change).recipients == 3


def test_it_leaves_out_ai_only_subscribers_for_a_change_that_does_not_touch_ai(mailoutbox):
    change = make_change(new_text=PLAIN_NEW)
    assert not change.ai_relevant
    SubscriberFactory(email="everything@example.org", ai_only=False)
    SubscriberFactory(email="ai-only@example.org", ai_only=True)
    fan_out_change.delay(change.pk)
    assert _recipients(mailoutbox) == ["everything@example.org"]
    assert "(not AI-related)" in mailoutbox[0].subject


@pytest.mark.parametrize(
    "fields",
    [
        {"alertable": False},  # archive history is published but never alerted
        {"published_at": None},
        {"kind": "technical"},
        {"kind": "flip_flop"},
        {"retracted_at": timezone.now()},
        {"published_at": timezone.now() - timedelta(days=30)},
    ],
)
def test_it_sends_nothing_for_a_change_that_is_not_alertable(mailoutbox, fields):
    change = make_change(**fields)
    SubscriberFactory()
    assert fan_out_change.delay(change.pk).get() == 0
    assert mailoutbox == []
    assert not Delivery.objects.exists()


def test_it_sends_nothing_for_archive_history_even_if_flagged_alertable(mailoutbox):
    change = make_change()
    change.new_version.source = VersionSource.ARCHIVE
    change.new_version.save()
    SubscriberFactory()
    fan_out_change.delay(change.pk)
    assert mailoutbox == []


def test_it_sends_nothing_for_a_change_that_does_not_exist(mailoutbox):
    SubscriberFactory()
    assert fan_out_change.delay(987654).get() == 0
    assert mailoutbox == []


def test_it_never_sends_twice_when_the_task_runs_again(mailoutbox):
    change = make_change()
    SubscriberFactory.create_batch(3)
    fan_out_change.delay(change.pk)
    fan_out_change.delay(change.pk)
    services.deliveries_send(delivery_ids=list(Delivery.objects.values_list("id", flat=True)))
    assert len(mailoutbox) == 3
    assert Delivery.objects.count() == 3


def test_it_fans_out_in_chunks(settings, mailoutbox):
    settings.ALERTS_CHUNK_SIZE = 2
    change = make_change()
    SubscriberFactory.create_batch(5)
    chunks = services.change_fan_out(change_id=change.pk)
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert mailoutbox == []
    for chunk in reversed(chunks):
        services.deliveries_send(delivery_ids=chunk)
    assert len(mailoutbox) == 5


def test_it_does_not_send_to_a_subscriber_who_left_during_the_fan_out(mailoutbox):
    change = make_change()
    stays = SubscriberFactory(email="stays@example.org")
    leaves = SubscriberFactory(email="leaves@example.org")
    [chunk] = services.change_fan_out(change_id=change.pk)
    services.subscription_cancel(subscriber_id=leaves.pk, token_version=leaves.token_version)
    services.deliveries_send(delivery_ids=chunk)
    assert _recipients(mailoutbox) == ["stays@example.org"]
    assert Delivery.objects.get(subscriber=leaves).state == DeliveryState.SKIPPED
    assert Delivery.objects.get(subscriber=stays).state == DeliveryState.SENT


class UnsubscribeNextBackend:
    """A mail backend that unsubscribes the other subscriber while sending the first message,
    as if they clicked one-click unsubscribe while the chunk is being sent."""

    def __init__(self, **kwargs):
        self.alias = kwargs.get("alias")

    def open(self):
        pass

    def close(self):
        pass

    def send_messages(self, messages):
        from alerts.models import Subscriber

        for message in messages:
            mail.outbox.append(message)
            for other in Subscriber.objects.filter(status=SubscriberStatus.ACTIVE).exclude(
                email__in=message.to
            ):
                services.subscription_cancel(
                    subscriber_id=other.pk, token_version=other.token_version
                )
        return len(messages)


def test_it_does_not_send_to_a_subscriber_who_left_while_their_chunk_was_being_sent(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.UnsubscribeNextBackend"}}
    mail.outbox = []
    change = make_change()
    SubscriberFactory.create_batch(2)
    [chunk] = services.change_fan_out(change_id=change.pk)
    report = services.deliveries_send(delivery_ids=chunk)
    assert (report.sent, report.skipped) == (1, 1)
    assert len(mail.outbox) == 1
    assert sorted(Delivery.objects.values_list("state", flat=True)) == ["sent", "skipped"]


def test_it_builds_the_alert_from_the_change(mailoutbox):
    platform = PlatformFactory(name="SoundCloud")
    document = DocumentFactory(platform=platform, title="Terms of Use")
    change = make_change(document=document)
    statement = StatementFactory(platform=platform, title="SoundCloud says it never trained AI")
    statement.changes.add(change)
    subscriber = SubscriberFactory(email="artist@example.org")

    fan_out_change.delay(change.pk)

    [message] = mailoutbox
    assert message.to == ["artist@example.org"]
    assert message.subject == "SoundCloud changed its Terms of Use — touches AI"
    html = message.alternatives[0].content
    diff = Diff.from_json(change.diff)
    # The diff exactly as the site renders it, in both parts.
    assert render_email_html(diff) in html
    assert render_text(diff) in message.body
    assert change.summary in message.body
    assert escape(change.summary) in html
    for part in (message.body, html):
        assert "We may use your uploads to train AI models." in part
        assert "training AI models on user content" in part
        assert "SoundCloud says it never trained AI" in part
        assert statement.source_url in part
        assert f"https://clausewatch.test/changes/{change.pk}/" in part or (
            f"https://clausewatch.test{change.get_absolute_url()}" in part
        )
    assert "<mark" in html and "train AI models</mark>" in html
    delivery = Delivery.objects.get()
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://clausewatch.test/alerts/unsubscribe/")
    assert unsubscribe.strip("<>") in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["Message-ID"] == f"<alert.{delivery.pk}@clausewatch.test>"
    assert "/alerts/manage/" in message.body
    assert subscriber.email not in unsubscribe  # tokens carry ids, never the address


def test_it_escapes_document_text_in_the_email(mailoutbox):
    change = make_change(
        new_text="# Terms\n\nWe host your uploads.\n\n<script>alert(1)</script> We train AI models on it.\n"
    )
    SubscriberFactory()
    fan_out_change.delay(change.pk)
    html = mailoutbox[0].alternatives[0].content
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@override_settings(ALERTS_EMAIL_DIFF_MAX_CHARS=100)
def test_it_links_to_the_site_instead_of_a_diff_too_long_for_email(mailoutbox):
    change = make_change()
    SubscriberFactory()
    fan_out_change.delay(change.pk)
    [message] = mailoutbox
    assert "the diff is too long for an email" in message.body
    assert render_email_html(Diff.from_json(change.diff)) not in message.alternatives[0].content


def test_it_renders_a_change_again_once_an_editor_changed_it():
    from alerts.emails import change_section

    change = make_change(analyzed_at=timezone.now())
    first = change_section(change)
    assert change_section(change) is first  # rendered once per process
    change.summary = "An editor's better summary."
    change.save(update_fields=["summary"])
    assert "An editor&#x27;s better summary." in change_section(change).html
    statement = StatementFactory(platform=change.document.platform, title="New statement")
    statement.changes.add(change)
    change = type(change).objects.prefetch_related("statements").get(pk=change.pk)
    assert "New statement" in change_section(change).html


def test_it_keeps_sending_the_batch_when_one_email_cannot_be_built(monkeypatch, mailoutbox):
    from alerts import emails

    change = make_change()
    broken, fine = SubscriberFactory(email="broken@example.org"), SubscriberFactory()
    real = emails.change_alert_message

    def fragile(*, recipient, section):
        if recipient.email == broken.email:
            raise RuntimeError("template bug")
        return real(recipient=recipient, section=section)

    monkeypatch.setattr(emails, "change_alert_message", fragile)
    [chunk] = services.change_fan_out(change_id=change.pk)
    report = services.deliveries_send(delivery_ids=chunk)
    assert (report.sent, report.retry) == (1, 1)
    assert _recipients(mailoutbox) == [fine.email]
    failed = Delivery.objects.get(subscriber=broken)
    assert failed.state == DeliveryState.PENDING and "template bug" in failed.last_error


def test_it_gives_up_on_a_delivery_whose_every_attempt_died(settings, mailoutbox):
    settings.ALERTS_MAX_ATTEMPTS = 3
    change = make_change()
    SubscriberFactory()
    [chunk] = services.change_fan_out(change_id=change.pk)
    Delivery.objects.update(state=DeliveryState.SENDING, attempts=3, claim="dead")
    later = timezone.now() + timedelta(hours=1)
    _, chunks = services.stalled_work(now=later)
    assert chunks == [chunk]
    assert services.deliveries_send(delivery_ids=chunk, now=later).claimed == 0
    assert Delivery.objects.get().state == DeliveryState.FAILED
    assert mailoutbox == []


def test_it_finishes_a_fan_out_whose_worker_died(settings, mailoutbox):
    from alerts.tasks import resume_deliveries

    change = make_change()
    SubscriberFactory.create_batch(3)
    # A worker created the record, then died before inserting the deliveries.
    FanOut.objects.create(change=change, created_at=timezone.now() - timedelta(hours=1))
    resume_deliveries.delay()
    assert len(mailoutbox) == 3
    assert FanOut.objects.get().completed_at is not None
