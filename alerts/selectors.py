"""Reads for alerts: who gets what."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet

from alerts.models import (
    Delivery,
    DeliveryState,
    Frequency,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from platforms.models import Platform
from snapshots.models import Change, ChangeKind, VersionSource


def alertable_changes() -> QuerySet[Change]:
    """Published, alertable changes of the document itself (not technical, not flip-flops,
    not archive history, not withdrawn)."""
    return Change.objects.filter(
        published_at__isnull=False,
        alertable=True,
        kind=ChangeKind.CHANGE,
        retracted_at__isnull=True,
    ).exclude(new_version__source=VersionSource.ARCHIVE)


def change_is_alertable(change_id: int, *, now: datetime) -> bool:
    # A change published long ago is history, however it reaches us.
    recent = now - settings.ALERTS_MAX_CHANGE_AGE
    return alertable_changes().filter(pk=change_id, published_at__gte=recent).exists()


def subscribers_matching(*, platform_id: int, ai_relevant: bool) -> QuerySet[Subscriber]:
    """Active subscribers who follow this platform and want this kind of change."""
    follows = Q(all_platforms=True) | Q(
        Exists(Subscription.objects.filter(subscriber=OuterRef("pk"), platform_id=platform_id))
    )
    qs = Subscriber.objects.filter(follows, status=SubscriberStatus.ACTIVE)
    if not ai_relevant:
        qs = qs.filter(ai_only=False)
    return qs


def instant_subscriber_ids(change: Change) -> QuerySet:
    return (
        subscribers_matching(
            platform_id=change.document.platform_id, ai_relevant=change.ai_relevant
        )
        .filter(frequency=Frequency.INSTANT)
        .order_by("id")
        .values_list("id", flat=True)
    )


def pending_instant_delivery_ids(change_id: int) -> list[int]:
    return list(
        Delivery.objects.filter(
            change_id=change_id, kind=Frequency.INSTANT, state=DeliveryState.PENDING
        )
        .order_by("id")
        .values_list("id", flat=True)
    )


def digest_due_subscriber_ids(*, frequency: str, period_end: datetime) -> list[int]:
    """Active digest subscribers who have no digest for this period yet."""
    done = Delivery.objects.filter(subscriber=OuterRef("pk"), kind=frequency, period_end=period_end)
    return list(
        Subscriber.objects.filter(status=SubscriberStatus.ACTIVE, frequency=frequency)
        .filter(Q(digest_since__lt=period_end) | Q(digest_since__isnull=True))
        .exclude(Exists(done))
        .order_by("id")
        .values_list("id", flat=True)
    )


def last_digest_ends(subscriber_ids: Iterable[int]) -> dict[int, datetime]:
    rows = (
        Delivery.objects.filter(subscriber_id__in=list(subscriber_ids), period_end__isnull=False)
        .values("subscriber_id")
        .annotate(last=Max("period_end"))
    )
    return {row["subscriber_id"]: row["last"] for row in rows}


def digest_candidate_changes(*, since: datetime, until: datetime) -> list[Change]:
    """Only what choosing needs (not the diffs and analyses, which can be large)."""
    return list(
        alertable_changes()
        .filter(published_at__gt=since, published_at__lte=until)
        .select_related("document")
        .only("id", "published_at", "ai_relevant", "document__platform_id")
        .order_by("published_at", "id")
    )


def digest_lookback(period_end: datetime) -> datetime:
    return period_end - timedelta(days=settings.ALERTS_DIGEST_MAX_LOOKBACK_DAYS)


def changes_for_email(change_ids: Iterable[int]) -> dict[int, Change]:
    changes = (
        Change.objects.filter(pk__in=list(change_ids))
        .select_related("document__platform")
        .prefetch_related("statements")
    )
    return {c.pk: c for c in changes}


def platform_subscriber_counts() -> list[dict]:
    """Per platform: active subscribers who chose it, and the total with 'all platforms'."""
    everyone = Subscriber.objects.filter(status=SubscriberStatus.ACTIVE, all_platforms=True).count()
    rows = Platform.objects.order_by("name").annotate(
        chosen=Count(
            "subscription",
            filter=Q(subscription__subscriber__status=SubscriberStatus.ACTIVE),
        )
    )
    return [
        {"platform": p, "chosen": p.chosen, "all_platforms": everyone, "total": p.chosen + everyone}
        for p in rows
    ]


def admin_recipients() -> list[str]:
    """settings.ADMINS, or every active staff user with an address when it is empty."""
    if settings.ADMINS:
        return [a if isinstance(a, str) else a[1] for a in settings.ADMINS]
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    return sorted({u.email for u in users})
