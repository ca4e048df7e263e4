"""Subscribing, confirming, changing and cancelling alerts; the emails that go with them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from alerts import emails
from alerts.models import (
    DIGEST_FREQUENCIES,
    Delivery,
    DeliveryState,
    Frequency,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from alerts.tokens import TokenExpired, TokenPayload, TokenUsed, read_token
from alerts.transport import send_now


def _by_email():
    # Matches the expression index of subscriber_unique_email.
    return Subscriber.objects.alias(email_lower=Lower("email"))


def _set_platforms(subscriber: Subscriber, platform_ids: Sequence[int]) -> None:
    Subscription.objects.filter(subscriber=subscriber).exclude(
        platform_id__in=platform_ids
    ).delete()
    Subscription.objects.bulk_create(
        [Subscription(subscriber=subscriber, platform_id=pid) for pid in platform_ids],
        ignore_conflicts=True,
    )


def subscription_request(
    *,
    email: str,
    all_platforms: bool,
    platform_ids: Sequence[int],
    ai_only: bool,
    frequency: str,
) -> None:
    """Someone asked for alerts at `email` (already validated and normalised).

    Returns nothing on purpose: the caller must not be able to tell a new address from a
    known one. A new, pending or unsubscribed address gets a confirmation link (its
    preferences are only a proposal until confirmed); an active one gets a "manage your
    subscription" email, and its preferences stay as they are.
    """
    from alerts.tasks import send_subscriber_email

    now = timezone.now()
    with transaction.atomic():
        subscriber = _by_email().select_for_update().filter(email_lower=email.lower()).first()
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(email=email, updated_at=now)
            except IntegrityError:  # the same address, submitted twice at once
                subscriber = _by_email().select_for_update().get(email_lower=email.lower())
        if subscriber.status == SubscriberStatus.ACTIVE:
            kind = "manage"
        else:
            kind = "confirm"
            subscriber.all_platforms = all_platforms
            subscriber.ai_only = ai_only
            subscriber.frequency = frequency
            subscriber.confirm_nonce = secrets.token_urlsafe(16)
            subscriber.updated_at = now
            subscriber.save(
                update_fields=[
                    "all_platforms",
                    "ai_only",
                    "frequency",
                    "confirm_nonce",
                    "updated_at",
                ]
            )
            _set_platforms(subscriber, [] if all_platforms else platform_ids)
        send_subscriber_email.delay_on_commit(subscriber.pk, kind)


def manage_link_request(*, email: str) -> None:
    """Send the manage/unsubscribe links to `email` if it is subscribed; silently nothing else."""
    from alerts.tasks import send_subscriber_email

    subscriber = (
        _by_email().filter(email_lower=email.lower(), status=SubscriberStatus.ACTIVE).first()
    )
    if subscriber is not None:
        send_subscriber_email.delay_on_commit(subscriber.pk, "manage")


def confirm_link_renew(*, token: str) -> None:
    """A new confirmation link for the owner of an expired one (or the manage email if the
    address was confirmed meanwhile)."""
    from alerts.tasks import send_subscriber_email

    try:
        payload = read_token("confirm", token)
    except TokenExpired as expired:
        payload = expired.payload
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=payload.subscriber_id).first()
        if subscriber is None:
            return
        if subscriber.status == SubscriberStatus.ACTIVE:
            send_subscriber_email.delay_on_commit(subscriber.pk, "manage")
            return
        subscriber.confirm_nonce = secrets.token_urlsafe(16)
        subscriber.save(update_fields=["confirm_nonce"])
        send_subscriber_email.delay_on_commit(subscriber.pk, "confirm")


def confirm_token_check(*, token: str) -> Subscriber:
    """The pending subscriber a confirmation token is for, without changing anything."""
    payload = read_token("confirm", token)
    subscriber = Subscriber.objects.filter(pk=payload.subscriber_id).first()
    if subscriber is None or not subscriber.confirm_nonce:
        raise TokenUsed("already used")
    if not secrets.compare_digest(subscriber.confirm_nonce, payload.value):
        raise TokenUsed("replaced by a newer link")
    return subscriber


def subscription_confirm(*, token: str) -> Subscriber:
    """Activate the subscription; the link works once. Raises a TokenError otherwise."""
    payload = read_token("confirm", token)
    now = timezone.now()
    # Conditional UPDATE on the nonce: two clicks at once confirm once.
    updated = (
        Subscriber.objects.filter(pk=payload.subscriber_id, confirm_nonce=payload.value)
        .exclude(confirm_nonce="")
        .update(
            status=SubscriberStatus.ACTIVE,
            confirm_nonce="",
            confirmed_at=now,
            unsubscribed_at=None,
            digest_since=now,
            updated_at=now,
        )
    )
    if not updated:
        raise TokenUsed("already used or replaced")
    return Subscriber.objects.get(pk=payload.subscriber_id)


def link_subscriber(*, purpose: str, token: str) -> Subscriber | None:
    """The subscriber a manage/unsubscribe token is for.

    None: the subscriber no longer exists (deleted). Raises TokenInvalid/TokenExpired, or
    TokenUsed when the link predates an unsubscription.
    """
    payload: TokenPayload = read_token(purpose, token)  # type: ignore[arg-type]
    subscriber = Subscriber.objects.filter(pk=payload.subscriber_id).first()
    if subscriber is None:
        return None
    if str(subscriber.token_version) != payload.value:
        raise TokenUsed("superseded")
    return subscriber


def subscription_update(
    *,
    subscriber: Subscriber,
    all_platforms: bool,
    platform_ids: Sequence[int],
    ai_only: bool,
    frequency: str,
) -> Subscriber:
    now = timezone.now()
    with transaction.atomic():
        # Switching to a digest starts it now, so nothing already sent instantly comes again.
        if frequency in DIGEST_FREQUENCIES and subscriber.frequency == Frequency.INSTANT:
            subscriber.digest_since = now
        subscriber.all_platforms = all_platforms
        subscriber.ai_only = ai_only
        subscriber.frequency = frequency
        subscriber.updated_at = now
        subscriber.save(
            update_fields=["all_platforms", "ai_only", "frequency", "digest_since", "updated_at"]
        )
        _set_platforms(subscriber, [] if all_platforms else platform_ids)
    return subscriber


def subscription_cancel(*, subscriber_id: int, token_version: int) -> bool:
    """Unsubscribe; True if this call did it. Every link of the subscriber stops working."""
    now = timezone.now()
    updated = Subscriber.objects.filter(pk=subscriber_id, token_version=token_version).update(
        status=SubscriberStatus.UNSUBSCRIBED,
        unsubscribed_at=now,
        confirm_nonce="",
        token_version=F("token_version") + 1,
        updated_at=now,
    )
    if updated:
        # Owed emails are not sent any more (the send path checks again as it commits).
        Delivery.objects.filter(subscriber_id=subscriber_id, state=DeliveryState.PENDING).update(
            state=DeliveryState.SKIPPED, last_error="unsubscribed"
        )
    return bool(updated)


def subscriber_email_send(*, subscriber_id: int, kind: str) -> bool:
    """The confirmation or manage email; sent now, on the alerts mailer."""
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return False
    if kind == "confirm":
        if subscriber.status == SubscriberStatus.ACTIVE or not subscriber.confirm_nonce:
            return False
        message = emails.confirm_message(subscriber)
    elif kind == "manage":
        if subscriber.status != SubscriberStatus.ACTIVE:
            return False
        message = emails.manage_message(subscriber)
    else:
        raise ValueError(kind)
    return send_now(
        message, alias=settings.ALERTS_MAILER, what=f"{kind} email to subscriber {subscriber_id}"
    )
