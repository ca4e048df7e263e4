"""Celery tasks: thin, load by id, call a service, safe to run twice (acks_late)."""

from __future__ import annotations

import smtplib
from datetime import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError

from alerts import services
from config.logcontext import log_context

# A database that is briefly unreachable or locked: try again soon rather than wait for the
# sweeper (and a fan-out that failed before recording itself has no sweeper to wait for).
DB_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 5,
    "max_retries": 6,
}


@shared_task(acks_late=True, ignore_result=True, **DB_RETRY)
def fan_out_change(change_id: int) -> int:
    """Alert instant subscribers of a published change; the pipeline enqueues it on commit.

    Checks again that the change is published, alertable and recent: archive history,
    technical changes and flip-flops never send anything, however this is called.
    """
    with log_context(change_id=change_id):
        chunks = services.change_fan_out(change_id=change_id)
        for chunk in chunks:
            send_deliveries.delay(chunk)
        return sum(map(len, chunks))


@shared_task(acks_late=True, ignore_result=True, **DB_RETRY)
def send_deliveries(delivery_ids: list[int]) -> int:
    """One chunk over one mail connection. Retries are picked up by resume_deliveries."""
    return services.deliveries_send(delivery_ids=delivery_ids).sent


@shared_task(acks_late=True, ignore_result=True, **DB_RETRY)
def send_digests(frequency: str) -> int:
    """Beat (hourly): the digests of the period that just ended, for whoever has none yet."""
    period_end, chunks = services.digest_plan(frequency=frequency)
    for chunk in chunks:
        build_digests.delay(frequency, period_end.isoformat(), chunk)
    return len(chunks)


@shared_task(acks_late=True, ignore_result=True, **DB_RETRY)
def build_digests(frequency: str, period_end: str, subscriber_ids: list[int]) -> int:
    delivery_ids = services.digests_build(
        frequency=frequency,
        period_end=datetime.fromisoformat(period_end),
        subscriber_ids=subscriber_ids,
    )
    if not delivery_ids:
        return 0
    return services.deliveries_send(delivery_ids=delivery_ids).sent


@shared_task(acks_late=True, ignore_result=True, **DB_RETRY)
def resume_deliveries() -> int:
    """Beat (every minute): restart interrupted fan-outs and send due retries and lost chunks."""
    change_ids, chunks = services.stalled_work()
    for change_id in change_ids:
        fan_out_change.delay(change_id)
    for chunk in chunks:
        send_deliveries.delay(chunk)
    return len(chunks)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=5,
)
def send_subscriber_email(subscriber_id: int, kind: str) -> bool:
    """The confirmation ("confirm") or manage-links ("manage") email."""
    return services.subscriber_email_send(subscriber_id=subscriber_id, kind=kind)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    max_retries=8,
)
def send_incident_email(incident_id: int, event: str) -> bool:
    return services.incident_email_send(incident_id=incident_id, event=event)
