"""Subscribers, what they follow, and a record of every email we owe or sent them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class Frequency(models.TextChoices):
    INSTANT = "instant", "As soon as a change is published"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


DIGEST_FREQUENCIES = (Frequency.DAILY, Frequency.WEEKLY)


class SubscriberStatus(models.TextChoices):
    PENDING = "pending", "Waiting for confirmation"
    ACTIVE = "active", "Active"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Subscriber(models.Model):
    """One email address. No account: signed links in each email authenticate its owner."""

    # Stored as normalised by the form (lower-cased); the constraint also guards other writers.
    email = models.EmailField(max_length=254)
    status = models.CharField(
        max_length=12, choices=SubscriberStatus.choices, default=SubscriberStatus.PENDING
    )
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.INSTANT
    )
    ai_only = models.BooleanField(default=True, help_text="only changes that touch AI")
    all_platforms = models.BooleanField(default=True)
    platforms = models.ManyToManyField(
        "platforms.Platform",
        through="Subscription",
        blank=True,
        related_name="alert_subscribers",
    )
    # The confirmation link carries this nonce; confirming or asking again replaces it,
    # so a confirmation link works once.
    confirm_nonce = models.CharField(max_length=32, blank=True, editable=False)
    # Every manage/unsubscribe link carries this; unsubscribing bumps it, so old links die.
    token_version = models.PositiveIntegerField(default=1, editable=False)
    # Digests include changes published after this (and after the last digest).
    digest_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_unique_email"),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(confirmed_at__isnull=False),
                name="subscriber_active_is_confirmed",
            ),
        ]
        indexes = [
            # Fan-out and digest planning: active subscribers of one frequency, by id.
            models.Index(
                fields=["frequency", "id"],
                name="subscriber_active_idx",
                condition=Q(status="active"),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.status == SubscriberStatus.ACTIVE


class Subscription(models.Model):
    """A platform a subscriber follows (when not following all of them)."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE)
    platform = models.ForeignKey("platforms.Platform", on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "platform"], name="subscription_unique_subscriber_platform"
            ),
        ]
        indexes = [
            # Fan-out: who follows the changed document's platform.
            models.Index(fields=["platform", "subscriber"], name="subscription_platform_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} → {self.platform_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Claimed by a worker"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class Delivery(models.Model):
    """One email owed to one subscriber: an instant alert for a change, or one digest period.

    Inserted before anything is sent (insert-or-skip on the unique constraints), then claimed
    by a worker (pending → sending, with a claim token and a lease) and marked sent in the
    same instant the message is committed to the SMTP server (see alerts/transport.py).
    """

    kind = models.CharField(max_length=10, choices=Frequency.choices)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    change = models.ForeignKey(
        "snapshots.Change",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_deliveries",
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    # The changes a digest holds, frozen when it is built so a retry sends the same email.
    change_ids = models.JSONField(default=list, blank=True)

    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Pending: not before this (retry back-off). Sending: the claim's lease ends then.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Exactly one instant alert per subscriber and change.
            models.UniqueConstraint(
                fields=["subscriber", "change"],
                condition=Q(kind="instant"),
                name="delivery_unique_instant",
            ),
            # Exactly one digest per subscriber and period; also serves "last digest of".
            models.UniqueConstraint(
                fields=["subscriber", "kind", "period_end"],
                condition=Q(kind__in=["daily", "weekly"]),
                name="delivery_unique_digest_period",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="instant", change__isnull=False)
                    | Q(kind__in=["daily", "weekly"], period_end__isnull=False)
                ),
                name="delivery_kind_has_target",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "sent", "failed", "skipped"]),
                name="delivery_valid_state",
            ),
        ]
        indexes = [
            # The sweeper: unfinished deliveries whose retry time or claim lease has passed.
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_unfinished_idx",
                condition=Q(state__in=["pending", "sending"]),
            ),
            # Fan-out: the pending deliveries of one change, in id order.
            models.Index(
                fields=["change", "state", "id"],
                name="delivery_change_idx",
                condition=Q(change__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        target = f"change {self.change_id}" if self.change_id else f"{self.period_end:%Y-%m-%d}"
        return f"{self.get_kind_display()} to {self.subscriber_id} for {target}: {self.state}"


class FanOut(models.Model):
    """That a change's instant deliveries were (or are being) created; completed once all are."""

    change = models.ForeignKey(
        "snapshots.Change", on_delete=models.CASCADE, related_name="alert_fan_outs"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change"], name="fanout_unique_change"),
        ]
        indexes = [
            # The sweeper: fan-outs a worker died in the middle of.
            models.Index(
                fields=["created_at"],
                name="fanout_incomplete_idx",
                condition=Q(completed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Fan-out of change {self.change_id}"


class DocumentIncident(models.Model):
    """A document in trouble (failing, blocked, …) until it is ok again: one email each way."""

    document = models.ForeignKey(
        "platforms.Document", on_delete=models.CASCADE, related_name="alert_incidents"
    )
    status = models.CharField(max_length=20, help_text="the status that opened the incident")
    last_status = models.CharField(max_length=20)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    opened_notified_at = models.DateTimeField(null=True, blank=True)
    closed_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # At most one open incident per document: a second report of it inserts nothing.
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(closed_at__isnull=True),
                name="incident_one_open_per_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} {self.status} since {self.opened_at:%Y-%m-%d %H:%M}"
