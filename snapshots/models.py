from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.urls import reverse
from django.utils import timezone


class Snapshot(models.Model):
    """A raw fetched body, content-addressed and compressed; shared by identical fetches."""

    sha256 = models.CharField(max_length=64)
    body = models.BinaryField(help_text="compressed raw body (zstd; zlib before 2026-11-27)")
    size = models.PositiveIntegerField(help_text="raw size in bytes")
    content_type = models.CharField(max_length=200, blank=True)
    encoding = models.CharField(max_length=50, blank=True)
    final_url = models.URLField(max_length=2000, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sha256"], name="snapshot_unique_sha256")]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} bytes)"


class VersionSource(models.TextChoices):
    LIVE = "live", "Live check"
    ARCHIVE = "archive", "Wayback Machine"
    IMPORT = "import", "Imported"


class VersionState(models.TextChoices):
    PUBLISHED = "published", "Published"
    HELD = "held", "Held as suspicious"


class Version(models.Model):
    """One distinct text of a document, in a linear chain (each knows the one before)."""

    document = models.ForeignKey(
        "platforms.Document", on_delete=models.CASCADE, related_name="versions"
    )
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next"
    )
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    word_count = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField(
        help_text="when this text was first seen (check or capture time)"
    )
    source = models.CharField(
        max_length=10, choices=VersionSource.choices, default=VersionSource.LIVE
    )
    source_url = models.URLField(
        max_length=2000, blank=True, help_text="capture URL for archive history"
    )
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    state = models.CharField(
        max_length=10, choices=VersionState.choices, default=VersionState.PUBLISHED
    )
    held_reason = models.CharField(max_length=200, blank=True)
    stated_effective = models.DateField(
        null=True, blank=True, help_text="the date the text says it takes effect"
    )
    stated_updated = models.DateField(
        null=True, blank=True, help_text="the 'last updated' date the text states"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["document", "id"]
        # Two workers checking at once cannot both extend the chain: `previous` is one-to-one, so
        # each version has at most one successor. The first version is serialized by the lock
        # on the document row (text_record), which also lets backfill insert older history.
        indexes = [
            # The pipeline's "current version" lookup: latest published version of a document
            # by observation time (backfilled history has higher ids but older times).
            models.Index(
                fields=["document", "state", "-observed_at", "-id"], name="version_current_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}@{self.observed_at:%Y-%m-%d %H:%M} {self.sha256[:8]}"


# A diff whose JSON is bigger than this is left out of the search vector: PostgreSQL refuses
# tsvectors over 1 MB, and the pipeline's insert must never fail because of the search index.
SEARCH_MAX_DIFF_BYTES = 1_000_000
_CHANGED_TEXTS = (
    '$.hunks[*].blocks[*] ? (@.op != "equal").segments[*][1]',
    '$.hunks[*].blocks[*] ? (@.op != "equal").old_text',
    '$.hunks[*].blocks[*] ? (@.op != "equal").new_text',
)


class ChangeSearchVector(Func):
    """What the timeline's full-text search matches for a change: the words of its changed
    blocks (not the unchanged context), its summary and its editor's headline.

    A PostgreSQL tsvector, computed by the database (a stored generated column), so the
    pipeline needs no code for it. Other databases store NULL; search there uses icontains.
    """

    output_field = SearchVectorField()

    def __init__(self) -> None:
        super().__init__(F("diff"), F("summary"), F("headline"))

    def as_sql(self, compiler, connection, **extra_context):
        return "NULL", []

    def as_postgresql(self, compiler, connection, **extra_context):
        diff, _ = compiler.compile(self.source_expressions[0])
        summary, _ = compiler.compile(self.source_expressions[1])
        headline, _ = compiler.compile(self.source_expressions[2])
        texts = " || ".join(f"jsonb_path_query_array({diff}, '{path}')" for path in _CHANGED_TEXTS)
        sql = (
            f"(CASE WHEN octet_length(({diff})::text) <= {SEARCH_MAX_DIFF_BYTES} "
            f"THEN to_tsvector('english'::regconfig, {texts}) ELSE ''::tsvector END"
            f" || to_tsvector('english'::regconfig, {summary} || ' ' || {headline}))"
        )
        return sql, []


class ChangeKind(models.TextChoices):
    CHANGE = "change", "Change of the document"
    # From our extraction (selectors changed), not from the document: kept, never published or alerted.
    TECHNICAL = "technical", "Technical (extraction)"
    # Part of an A → B → A excursion (A/B test, geo variant): kept, never published.
    FLIP_FLOP = "flip_flop", "Flip-flop"


class Change(models.Model):
    """old → new text of a document, with the stored diff and its AI analysis."""

    document = models.ForeignKey(
        "platforms.Document", on_delete=models.CASCADE, related_name="changes"
    )
    old_version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="changes_from")
    new_version = models.OneToOneField(Version, on_delete=models.CASCADE, related_name="change")
    observed_at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=ChangeKind.choices, default=ChangeKind.CHANGE)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="empty: not shown publicly"
    )
    retracted_at = models.DateTimeField(
        null=True, blank=True, help_text="set when a flip-flop withdrew it"
    )
    # Archive history is published with its historical date but never alerted.
    alertable = models.BooleanField(default=True)

    words_added = models.PositiveIntegerField(default=0)
    words_removed = models.PositiveIntegerField(default=0)
    diff = models.JSONField(default=dict, blank=True)
    ai_relevant = models.BooleanField(default=False)
    ai_categories = models.JSONField(default=list, blank=True)
    ai_analysis = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    headline = models.CharField(
        max_length=300, blank=True, help_text="an editor's headline, shown above the summary"
    )
    analyzed_at = models.DateTimeField(null=True, blank=True)
    # Timeline search (`q`); see ChangeSearchVector.
    search_vector = models.GeneratedField(
        expression=ChangeSearchVector(), output_field=SearchVectorField(), db_persist=True
    )

    class Meta:
        ordering = ["-observed_at", "-id"]
        indexes = [
            # Timeline: published changes newest first, optionally AI-only.
            models.Index(
                fields=["-observed_at", "-id"],
                name="change_published_idx",
                condition=Q(published_at__isnull=False),
            ),
            models.Index(fields=["document", "-observed_at"], name="change_document_idx"),
            # The public timeline (timeline/selectors.py `published_changes`: published and
            # kind "change"): keyset pages newest first, and index-only counts.
            models.Index(
                fields=["-observed_at", "-id"],
                name="change_public_idx",
                condition=Q(published_at__isnull=False, kind="change"),
            ),
            # The same with "AI only".
            models.Index(
                fields=["-observed_at", "-id"],
                name="change_public_ai_idx",
                condition=Q(published_at__isnull=False, kind="change", ai_relevant=True),
            ),
            # A document's public changes in order: the platform/document/kind filters,
            # previous/next on the change page, per-document counts, the AI explorer's dating.
            models.Index(
                fields=["document", "-observed_at", "-id"],
                name="change_public_doc_idx",
                condition=Q(published_at__isnull=False, kind="change"),
            ),
            # Timeline search `q` (PostgreSQL only; created by migration 0002 there).
            GinIndex(fields=["search_vector"], name="change_search_idx"),
        ]

    def __str__(self) -> str:
        return f"Change {self.pk} of document {self.document_id} at {self.observed_at:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("timeline:change", kwargs={"pk": self.pk})

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class CheckOutcome(models.TextChoices):
    FIRST = "first", "First version recorded"
    UNCHANGED = "unchanged", "Unchanged"
    NOT_MODIFIED = "not_modified", "Not modified (304)"
    CHANGED = "changed", "Changed"
    ERROR = "error", "Error"
    BLOCKED = "blocked", "Blocked"
    SUSPICIOUS = "suspicious", "Suspicious (held)"
    FLIP_FLOP = "flip_flop", "Flip-flop (held)"
    SELECTOR_BROKEN = "selector_broken", "Selector broken"
    UNSUPPORTED = "unsupported", "Unsupported content"


class Check(models.Model):
    """One check of one document: the log an admin reads to see what the tracker did."""

    # Every check writes a row, so each index here is a write per check: the document's is
    # check_document_idx, and the links (set on the few checks that made a version) have
    # partial indexes that rows without them never enter.
    document = models.ForeignKey(
        "platforms.Document", on_delete=models.CASCADE, related_name="checks", db_index=False
    )
    checked_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=CheckOutcome.choices)
    fetcher = models.CharField(max_length=10, default="http")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    final_url = models.URLField(max_length=2000, blank=True)
    error = models.TextField(blank=True)
    detail = models.CharField(max_length=500, blank=True, help_text="what else the check noticed")
    snapshot = models.ForeignKey(
        Snapshot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checks",
        db_index=False,
    )
    version = models.ForeignKey(
        Version,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="checks",
        db_index=False,
    )

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            # The admin's check log per document, newest first.
            models.Index(fields=["document", "-checked_at"], name="check_document_idx"),
            # Pruning old unchanged checks.
            models.Index(fields=["outcome", "checked_at"], name="check_prune_idx"),
            # Deleting a body or a version finds the checks that link to it.
            models.Index(
                fields=["snapshot"],
                name="check_snapshot_idx",
                condition=models.Q(snapshot__isnull=False),
            ),
            models.Index(
                fields=["version"],
                name="check_version_idx",
                condition=models.Q(version__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {self.outcome}"
