from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from platforms.kinds import DocumentKind, DocumentStatus, Fetcher, StatementKind
from platforms.validators import validate_document_url, validate_patterns, validate_selectors


class Platform(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60)
    homepage = models.CharField(max_length=500, validators=[validate_document_url])
    description = models.TextField(blank=True)
    # Fingerprint of the registry values `seed` last wrote; a mismatch means an admin edited the row.
    seed_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["slug"], name="platform_unique_slug"),
            models.UniqueConstraint(fields=["name"], name="platform_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("timeline:platform", kwargs={"slug": self.slug})


def default_check_interval() -> timedelta:
    from django.conf import settings

    return settings.TRACK_DEFAULT_INTERVAL


class Document(models.Model):
    # No index of its own: document_unique_platform_url starts with it. Every check updates
    # its document (next_check_at is indexed, so not in place), and each index costs a write.
    platform = models.ForeignKey(
        Platform, on_delete=models.CASCADE, related_name="documents", db_index=False
    )
    kind = models.CharField(max_length=40, choices=DocumentKind.choices)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=2000, validators=[validate_document_url])

    # How to fetch and extract it.
    select = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_selectors],
        help_text="CSS selectors whose content is the document (one per line); empty = the main content.",
    )
    remove = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_selectors],
        help_text="CSS selectors removed before extraction (one per line).",
    )
    ignore_patterns = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_patterns],
        help_text="Regular expressions; extracted lines matching any of them are dropped (one per line).",
    )
    fetcher = models.CharField(max_length=20, choices=Fetcher.choices, default=Fetcher.HTTP)
    check_interval = models.DurationField(default=default_check_interval)
    active = models.BooleanField(default=True)

    # Tracking state, written only by the pipeline.
    status = models.CharField(
        max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.NEW
    )
    next_check_at = models.DateTimeField(default=timezone.now)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Set when the text flip-flopped between versions (A/B tests, geo variants); cleared by an admin.
    unstable_since = models.DateTimeField(null=True, blank=True)
    # Conditional-request validators from the last successful fetch.
    http_etag = models.CharField(max_length=500, blank=True)
    http_last_modified = models.CharField(max_length=100, blank=True)
    # The body of the latest check is always kept, so selectors can be re-applied to it.
    latest_snapshot = models.ForeignKey(
        "snapshots.Snapshot", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the last extraction read (snapshots.extract.extraction_key: the latest body, the
    # rules, the extractor's version) and the text it gave: an identical page skips extraction.
    extraction_key = models.CharField(max_length=64, blank=True, editable=False)
    extracted_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The converter's input of that extraction (snapshots.extract.fragment_key): a page with
    # other bytes but the same document part (rotating tokens) skips conversion.
    fragment_key = models.CharField(max_length=64, blank=True, editable=False)

    seed_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["platform__name", "kind", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "url"], name="document_unique_platform_url"
            ),
        ]
        indexes = [
            # The dispatcher's query: active documents whose next check is due.
            models.Index(
                fields=["next_check_at"], name="document_due_idx", condition=Q(active=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform.name} — {self.title}"

    @property
    def is_failing(self) -> bool:
        return self.consecutive_failures > 0


class Statement(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="statements")
    kind = models.CharField(
        max_length=20, choices=StatementKind.choices, default=StatementKind.STATEMENT
    )
    date = models.DateField(help_text="When it was said or happened.")
    title = models.CharField(max_length=300)
    summary = models.TextField(
        help_text="In our own words: what was said or done, and why it matters."
    )
    quote = models.TextField(blank=True, help_text="Optional short quote from the source.")
    source_url = models.CharField(max_length=2000, validators=[validate_document_url])
    outlet = models.CharField(max_length=200, help_text="Who published the source.")
    changes = models.ManyToManyField(
        "snapshots.Change",
        blank=True,
        related_name="statements",
        help_text="The tracked changes this statement is about.",
    )
    seed_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-date", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "source_url"], name="statement_unique_platform_source"
            ),
        ]
        indexes = [
            # Timeline interleaving reads statements by date.
            models.Index(fields=["-date"], name="statement_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.platform.name}: {self.title}"
