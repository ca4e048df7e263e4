"""Who is owed which email: one Delivery per subscriber and change, or per digest period.

Deliveries are inserted (insert-or-skip on their unique constraints) before anything is
sent, so running any of this again never owes anyone a second email.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import batched

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts import selectors
from alerts.models import Delivery, DeliveryState, FanOut, Frequency, Subscriber, SubscriberStatus

logger = logging.getLogger(__name__)


def chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(chunk) for chunk in batched(ids, settings.ALERTS_CHUNK_SIZE, strict=False)]


def change_fan_out(*, change_id: int, now: datetime | None = None) -> list[list[int]]:
    """Create one pending instant Delivery per matching subscriber; return them in chunks.

    Safe to run again at any point: inserts skip rows that exist, and the chunks returned
    are the deliveries still pending.
    """
    now = now or timezone.now()
    if not selectors.change_is_alertable(change_id, now=now):
        logger.info("fan-out change=%s: not alertable, nothing sent", change_id)
        return []
    from snapshots.models import Change

    change = Change.objects.select_related("document").get(pk=change_id)
    try:
        with transaction.atomic():
            fan_out, _ = FanOut.objects.get_or_create(change_id=change_id)
    except IntegrityError:
        fan_out = FanOut.objects.get(change_id=change_id)
    if fan_out.completed_at is None:
        recipients = 0
        for batch in batched(
            selectors.instant_subscriber_ids(change).iterator(), 1000, strict=False
        ):
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        kind=Frequency.INSTANT,
                        subscriber_id=sid,
                        change_id=change_id,
                        next_attempt_at=now,
                    )
                    for sid in batch
                ],
                ignore_conflicts=True,
            )
            recipients += len(batch)
        FanOut.objects.filter(pk=fan_out.pk, completed_at__isnull=True).update(
            completed_at=timezone.now(), recipients=recipients
        )
    return chunks(selectors.pending_instant_delivery_ids(change_id))


# --- digests --------------------------------------------------------------------------------


def digest_period_end(*, frequency: str, now: datetime) -> datetime:
    """The end of the last complete period: midnight UTC, or Monday midnight UTC."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if frequency == Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day


def digest_plan(*, frequency: str, now: datetime | None = None) -> tuple[datetime, list[list[int]]]:
    """The period that just ended and the chunks of subscribers still owed its digest."""
    period_end = digest_period_end(frequency=frequency, now=now or timezone.now())
    ids = selectors.digest_due_subscriber_ids(frequency=frequency, period_end=period_end)
    return period_end, chunks(ids)


def digests_build(
    *, frequency: str, period_end: datetime, subscriber_ids: Sequence[int]
) -> list[int]:
    """Create the digests of one period for these subscribers; return the pending ones.

    Each digest holds every alertable change published since the subscriber's last digest
    (or since they confirmed), up to the end of the period, that matches their choices.
    No matching change, no digest.
    """
    subscribers = list(
        Subscriber.objects.filter(
            pk__in=list(subscriber_ids), status=SubscriberStatus.ACTIVE, frequency=frequency
        ).prefetch_related("subscription_set")
    )
    if subscribers:
        last_ends = selectors.last_digest_ends(s.pk for s in subscribers)
        floor = selectors.digest_lookback(period_end)
        since = {
            s.pk: max(d for d in (s.digest_since, last_ends.get(s.pk), floor) if d is not None)
            for s in subscribers
        }
        changes = selectors.digest_candidate_changes(since=min(since.values()), until=period_end)
        rows = []
        for s in subscribers:
            followed = {sub.platform_id for sub in s.subscription_set.all()}
            picked = [
                c.pk
                for c in changes
                if c.published_at > since[s.pk]
                and (s.all_platforms or c.document.platform_id in followed)
                and (c.ai_relevant or not s.ai_only)
            ]
            if picked and since[s.pk] < period_end:
                rows.append(
                    Delivery(
                        kind=frequency,
                        subscriber_id=s.pk,
                        period_start=since[s.pk],
                        period_end=period_end,
                        change_ids=picked,
                    )
                )
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(
        Delivery.objects.filter(
            subscriber_id__in=list(subscriber_ids),
            kind=frequency,
            period_end=period_end,
            state=DeliveryState.PENDING,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
