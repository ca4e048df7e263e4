"""Sending owed emails: claim, send over one connection per batch, record the outcome."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from alerts import emails, selectors
from alerts.models import Delivery, DeliveryState, FanOut, Frequency, Subscriber, SubscriberStatus
from alerts.services.fan_out import chunks
from alerts.transport import MailBatch, Mailing, SendError

logger = logging.getLogger(__name__)


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _backoff(attempts: int) -> timedelta:
    base = settings.ALERTS_RETRY_BASE.total_seconds()
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600.0))


def _claim(delivery_ids: Sequence[int], *, claim: str, now: datetime) -> list[Delivery]:
    """Take the due, unclaimed (or lease-expired) deliveries among these; return them.

    A plain UPDATE by primary key with conditions on the row itself, so a concurrent claim of
    the same row waits and re-checks them; the subscriber is looked at afterwards.
    """
    due = Delivery.objects.filter(
        pk__in=list(delivery_ids),
        next_attempt_at__lte=now,
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING],
    )
    # A delivery whose every attempt died with its worker (a poison message) stops here.
    due.filter(attempts__gte=settings.ALERTS_MAX_ATTEMPTS).update(
        state=DeliveryState.FAILED, claim="", last_error="gave up: no attempt finished"
    )
    due.filter(attempts__lt=settings.ALERTS_MAX_ATTEMPTS).update(
        state=DeliveryState.SENDING,
        claim=claim,
        claimed_at=now,
        next_attempt_at=now + settings.ALERTS_CLAIM_LEASE,
        attempts=F("attempts") + 1,
    )
    claimed = list(
        Delivery.objects.filter(pk__in=list(delivery_ids), claim=claim, state=DeliveryState.SENDING)
        .select_related("subscriber")
        .order_by("id")
    )
    # Owed to someone who left: never sent.
    gone = [d.pk for d in claimed if not d.subscriber.is_active]
    if gone:
        Delivery.objects.filter(pk__in=gone, claim=claim).update(
            state=DeliveryState.SKIPPED, claim="", last_error="unsubscribed before sending"
        )
    return [d for d in claimed if d.subscriber.is_active]


def _mark_sent(delivery_id: int, claim: str) -> bool:
    """pending → sent for the claim holder, if the subscriber is still subscribed.

    Runs once per email on the hot path, so it is one SQL statement rather than an ORM
    query (whose compilation costs more than the UPDATE).
    """
    delivery, subscriber = Delivery._meta.db_table, Subscriber._meta.db_table
    # Only table names are interpolated; every value is a parameter.
    sql = (
        f"UPDATE {delivery} SET state = %s, sent_at = %s, last_error = '' "  # noqa: S608
        f"WHERE id = %s AND claim = %s AND state = %s AND EXISTS ("
        f"SELECT 1 FROM {subscriber} WHERE {subscriber}.id = {delivery}.subscriber_id "
        f"AND {subscriber}.status = %s)"
    )
    params = [
        DeliveryState.SENT,
        timezone.now(),
        delivery_id,
        claim,
        DeliveryState.SENDING,
        SubscriberStatus.ACTIVE,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


@contextmanager
def _sending(delivery_id: int, claim: str) -> Iterator[bool]:
    """The transaction in which a message is released (see alerts/transport.py)."""
    with transaction.atomic():
        yield _mark_sent(delivery_id, claim)


def _record_failure(delivery: Delivery, claim: str, error: SendError, now: datetime) -> str:
    mine = Delivery.objects.filter(
        pk=delivery.pk, claim=claim, state__in=[DeliveryState.SENDING, DeliveryState.SENT]
    )
    if error.permanent or delivery.attempts >= settings.ALERTS_MAX_ATTEMPTS:
        mine.update(
            state=DeliveryState.FAILED, claim="", sent_at=None, last_error=str(error)[:2000]
        )
        return DeliveryState.FAILED
    mine.update(
        state=DeliveryState.PENDING,
        claim="",
        sent_at=None,
        next_attempt_at=now + _backoff(delivery.attempts),
        last_error=str(error)[:2000],
    )
    return DeliveryState.PENDING


class _Content:
    """What a batch of deliveries says: sections rendered once per change, one Mailing per
    distinct email (one per change for instant alerts; per set of changes for digests)."""

    def __init__(self, deliveries: Sequence[Delivery]) -> None:
        ids: set[int] = set()
        for d in deliveries:
            ids.update(d.change_ids if d.change_id is None else [d.change_id])
        alertable = set(
            selectors.alertable_changes().filter(pk__in=ids).values_list("pk", flat=True)
        )
        self.changes = {
            pk: c for pk, c in selectors.changes_for_email(ids).items() if pk in alertable
        }
        self._sections: dict[tuple[int, bool], emails.ChangeSection] = {}
        self._mailings: dict[tuple, Mailing] = {}

    def section(self, change_id: int, *, with_diff: bool = True) -> emails.ChangeSection | None:
        key = (change_id, with_diff)
        if key not in self._sections:
            change = self.changes.get(change_id)
            if change is None:
                return None
            self._sections[key] = emails.change_section(change, with_diff=with_diff)
        return self._sections[key]

    def _digest_sections(self, change_ids: Sequence[int]) -> list[emails.ChangeSection]:
        """The changes in order; diffs for as many as fit the size budget (mail clients clip
        long messages), changes that touch AI first, the others after."""
        by_id = {pk: self.section(pk, with_diff=False) for pk in change_ids}
        chosen = {pk: s for pk, s in by_id.items() if s is not None}
        size = sum(len(s.html) for s in chosen.values())
        ordered = sorted(chosen, key=lambda pk: not self.changes[pk].ai_relevant)
        for pk in ordered:
            full = self.section(pk, with_diff=True)
            grown = len(full.html) - len(chosen[pk].html)
            if size + grown <= settings.ALERTS_DIGEST_MAX_CHARS:
                chosen[pk], size = full, size + grown
        return [chosen[pk] for pk in change_ids if pk in chosen]

    def mailing(self, delivery: Delivery) -> Mailing | None:
        if delivery.kind == Frequency.INSTANT:
            key: tuple = ("change", delivery.change_id)
            if key not in self._mailings:
                section = self.section(delivery.change_id)
                if section is None:
                    return None
                self._mailings[key] = Mailing(
                    lambda r, s=section: emails.change_alert_message(recipient=r, section=s)
                )
            return self._mailings[key]
        key = (
            "digest",
            delivery.kind,
            tuple(delivery.change_ids),
            delivery.period_start,
            delivery.period_end,
        )
        if key not in self._mailings:
            sections = self._digest_sections(delivery.change_ids)
            if not sections:
                return None
            self._mailings[key] = Mailing(
                lambda r, d=delivery, s=sections: emails.digest_message(
                    recipient=r,
                    sections=s,
                    kind=d.kind,
                    period_start=d.period_start,
                    period_end=d.period_end,
                )
            )
        return self._mailings[key]


def _recipient(delivery: Delivery) -> emails.Recipient:
    prefix = "alert" if delivery.kind == Frequency.INSTANT else "digest"
    return emails.Recipient.of(delivery.subscriber, message_id=f"{prefix}.{delivery.pk}")


def deliveries_send(*, delivery_ids: Sequence[int], now: datetime | None = None) -> SendReport:
    """Claim these deliveries (those due and still unclaimed) and send them over one connection.

    Safe to run twice, concurrently or after a crash: a delivery is sent only by the worker
    whose claim marks it sent (see alerts/transport.py), and only while its subscriber is
    still subscribed. Transient failures go back to pending with a back-off; permanent ones
    (5xx, invalid address) and the last attempt become failed.
    """
    now = now or timezone.now()
    claim = uuid.uuid4().hex
    report = SendReport()
    deliveries = _claim(delivery_ids, claim=claim, now=now)
    report.claimed = len(deliveries)
    if not deliveries:
        return report
    content = _Content(deliveries)
    with MailBatch(settings.ALERTS_MAILER) as batch:
        for index, delivery in enumerate(deliveries):
            try:
                mailing = content.mailing(delivery)
                if mailing is None:  # the change was withdrawn or deleted meanwhile
                    Delivery.objects.filter(pk=delivery.pk, claim=claim).update(
                        state=DeliveryState.SKIPPED,
                        claim="",
                        last_error="change no longer alertable",
                    )
                    report.skipped += 1
                    continue
                sent = batch.send(
                    mailing, _recipient(delivery), commit=partial(_sending, delivery.pk, claim)
                )
            except SendError as error:
                report.errors.append(str(error))
                if error.connection:
                    # The server cannot be reached: put back the rest of the batch untouched.
                    for rest in deliveries[index:]:
                        state = _record_failure(rest, claim, error, now)
                        report.retry += state == DeliveryState.PENDING
                        report.failed += state == DeliveryState.FAILED
                    break
                state = _record_failure(delivery, claim, error, now)
                report.retry += state == DeliveryState.PENDING
                report.failed += state == DeliveryState.FAILED
                continue
            except Exception as exc:  # a bug must not hold up the rest of the batch
                logger.exception("alerts: delivery %s could not be sent", delivery.pk)
                error = SendError(f"{type(exc).__name__}: {exc}", permanent=False)
                report.errors.append(str(error))
                state = _record_failure(delivery, claim, error, now)
                report.retry += state == DeliveryState.PENDING
                report.failed += state == DeliveryState.FAILED
                continue
            if sent:
                report.sent += 1
            else:
                Delivery.objects.filter(
                    pk=delivery.pk, claim=claim, state=DeliveryState.SENDING
                ).update(
                    state=DeliveryState.SKIPPED, claim="", last_error="unsubscribed while sending"
                )
                report.skipped += 1
    if report.errors:
        logger.warning(
            "alerts batch: %s sent, %s to retry, %s failed; first error: %s",
            report.sent,
            report.retry,
            report.failed,
            report.errors[0],
        )
    return report


def stalled_work(*, now: datetime | None = None) -> tuple[list[int], list[list[int]]]:
    """What a sweeper must restart: fan-outs a worker died in or whose task was lost, and due
    unfinished deliveries (retries whose back-off has passed, claims whose lease ran out, chunks
    whose task was lost).
    """
    now = now or timezone.now()
    lease = settings.ALERTS_CLAIM_LEASE
    fan_outs = list(
        FanOut.objects.filter(completed_at__isnull=True, created_at__lt=now - lease).values_list(
            "change_id", flat=True
        )
    )
    # Published changes whose fan-out never started: the pipeline enqueues it once, on commit,
    # and a broker that restarts (Redis keeps nothing on disk) loses the queued task with no
    # FanOut row left behind to resume. Those older than ALERTS_MAX_CHANGE_AGE are history.
    never_started = (
        selectors.alertable_changes()
        .filter(
            published_at__gte=now - settings.ALERTS_MAX_CHANGE_AGE,
            published_at__lt=now - lease,
        )
        .exclude(Exists(FanOut.objects.filter(change_id=OuterRef("pk"))))
        .order_by("published_at", "id")
        .values_list("id", flat=True)
    )
    fan_outs += [pk for pk in never_started[: settings.ALERTS_SWEEP_LIMIT] if pk not in fan_outs]
    # Fresh pending deliveries belong to a chunk task that is probably still queued.
    due = Delivery.objects.filter(
        state__in=[DeliveryState.PENDING, DeliveryState.SENDING], next_attempt_at__lte=now
    ).filter(Q(attempts__gt=0) | Q(created_at__lt=now - lease))
    ids = list(due.order_by("id").values_list("id", flat=True)[: settings.ALERTS_SWEEP_LIMIT])
    return fan_outs, chunks(ids)
