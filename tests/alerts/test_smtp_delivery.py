"""The sending path against SMTP servers on loopback: a real one, and ones that misbehave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import Delivery, DeliveryState
from alerts.tasks import fan_out_change, resume_deliveries
from tests.alerts.helpers import make_change
from tests.alerts.smtp_servers import ScriptedSMTPServer, smtp_mailers
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scripted(settings, request):
    behaviour, fail_times = request.param

    def start():
        server = ScriptedSMTPServer(behaviour, fail_times=fail_times)
        settings.MAILERS = smtp_mailers(server.port, timeout=0.5)
        return server

    return start


def _deliveries_for(change, n: int = 1) -> list[int]:
    SubscriberFactory.create_batch(n)
    [chunk] = services.change_fan_out(change_id=change.pk)
    return chunk


def test_it_delivers_every_alert_to_a_real_smtp_server(smtp_sink):
    change = make_change()
    subscribers = SubscriberFactory.create_batch(7)
    fan_out_change.delay(change.pk)
    assert smtp_sink.wait_for(7)
    assert smtp_sink.recipients() == {s.email: 1 for s in subscribers}
    received = smtp_sink.messages[0]
    raw_headers = received.data.split(b"\r\n\r\n", 1)[0].decode()
    # As mail providers read them: unfolded, not RFC 2047-encoded.
    assert "\r\nList-Unsubscribe: <https://clausewatch.test/alerts/unsubscribe/" in raw_headers
    assert "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw_headers
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert {p.get_content_type() for p in message.iter_parts()} == {"text/plain", "text/html"}
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 7


@pytest.mark.parametrize("scripted", [("ok", None)], indirect=True)
def test_it_sends_a_chunk_over_one_connection(scripted):
    with scripted() as server:
        chunk = _deliveries_for(make_change(), 5)
        report = services.deliveries_send(delivery_ids=chunk)
    assert report.sent == 5
    assert server.connections == 1
    assert len(server.accepted) == 5


@pytest.mark.parametrize("scripted", [("refuse_rcpt", None)], indirect=True)
def test_it_records_a_permanent_refusal_and_never_retries_it(scripted):
    with scripted() as server:
        [delivery_id] = _deliveries_for(make_change())
        report = services.deliveries_send(delivery_ids=[delivery_id])
        delivery = Delivery.objects.get()
        assert (report.failed, delivery.state, delivery.attempts) == (1, "failed", 1)
        assert "550" in delivery.last_error
        # The sweeper never picks it up again, however late.
        later = timezone.now() + timedelta(days=1)
        assert services.stalled_work(now=later) == ([], [])
    assert server.accepted == []


@pytest.mark.parametrize(
    "scripted",
    [("tempfail_rcpt", 1), ("tempfail_data", 1), ("hang_at_end", 1), ("drop_mid_data", 1)],
    indirect=True,
)
def test_it_retries_a_transient_failure_with_backoff_and_sends_once(scripted, settings):
    with scripted() as server:
        [delivery_id] = _deliveries_for(make_change())
        now = timezone.now()
        report = services.deliveries_send(delivery_ids=[delivery_id], now=now)
        delivery = Delivery.objects.get()
        assert (report.retry, delivery.state, delivery.attempts) == (1, "pending", 1)
        assert delivery.next_attempt_at >= now + settings.ALERTS_RETRY_BASE
        assert delivery.last_error
        assert server.accepted == []
        # Not before the back-off...
        assert services.deliveries_send(delivery_ids=[delivery_id], now=now).claimed == 0
        # ...then the sweeper finds it and the server, now well, takes it once.
        _, chunks = services.stalled_work(now=delivery.next_attempt_at)
        assert chunks == [[delivery_id]]
        report = services.deliveries_send(delivery_ids=[delivery_id], now=delivery.next_attempt_at)
        assert report.sent == 1
    assert len(server.accepted) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("sent", 2)


@pytest.mark.parametrize("scripted", [("tempfail_rcpt", None)], indirect=True)
def test_it_gives_up_after_the_last_attempt(scripted, settings):
    settings.ALERTS_MAX_ATTEMPTS = 3
    with scripted():
        [delivery_id] = _deliveries_for(make_change())
        now = timezone.now()
        states = []
        for _ in range(4):
            services.deliveries_send(delivery_ids=[delivery_id], now=now)
            delivery = Delivery.objects.get()
            states.append(delivery.state)
            now = delivery.next_attempt_at
    assert states == ["pending", "pending", "failed", "failed"]
    assert delivery.attempts == 3


@pytest.mark.parametrize("scripted", [("drop_mid_data", 1)], indirect=True)
def test_it_goes_on_with_the_chunk_after_a_dropped_connection(scripted):
    with scripted() as server:
        chunk = _deliveries_for(make_change(), 3)
        report = services.deliveries_send(delivery_ids=chunk)
    assert (report.sent, report.retry) == (2, 1)
    assert len(server.accepted) == 2
    assert server.connections == 2


def test_it_puts_the_chunk_back_when_the_server_is_unreachable(settings):
    from tests.alerts.smtp_servers import free_port

    settings.MAILERS = smtp_mailers(free_port(), timeout=0.5)
    chunk = _deliveries_for(make_change(), 3)
    report = services.deliveries_send(delivery_ids=chunk)
    assert report.retry == 3
    assert set(Delivery.objects.values_list("state", flat=True)) == {"pending"}


def test_it_resumes_deliveries_whose_worker_died(smtp_sink, settings):
    """A claim whose lease ran out (the worker was killed) is sent by the sweeper, once."""
    change = make_change()
    SubscriberFactory.create_batch(3)
    [chunk] = services.change_fan_out(change_id=change.pk)
    # A worker claimed the chunk and died before sending anything.
    Delivery.objects.filter(pk__in=chunk).update(
        state=DeliveryState.SENDING,
        claim="dead-worker",
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(seconds=1),
    )
    resume_deliveries.delay()
    assert smtp_sink.wait_for(3)
    assert sorted(smtp_sink.recipients().values()) == [1, 1, 1]
    assert Delivery.objects.filter(state=DeliveryState.SENT, attempts=2).count() == 3
