"""Reads for the public timeline: pages, API, feeds and CSV all go through these.

Lists never load the big columns (diff, analysis, version text, search vector) and never
issue a query per row; deep pages use keyset conditions (see cursors.py), not OFFSET.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth

from platforms.models import Document, Platform, Statement
from snapshots.diffing import Diff, compute_diff
from snapshots.models import Change, ChangeKind, Snapshot, Version, VersionState
from timeline.cursors import CHANGE, Key, change_key, start_of_day, statement_key
from timeline.filters import Filters

COUNT_CACHE_SECONDS = 120

# Columns a list row needs; everything else (diff, analysis, texts) stays in the database.
CHANGE_ROW_FIELDS = (
    "id",
    "observed_at",
    "published_at",
    "words_added",
    "words_removed",
    "ai_relevant",
    "ai_categories",
    "summary",
    "headline",
    "document__id",
    "document__title",
    "document__kind",
    "document__url",
    "document__platform__id",
    "document__platform__name",
    "document__platform__slug",
)
STATEMENT_ROW_FIELDS = (
    "id",
    "date",
    "kind",
    "title",
    "summary",
    "quote",
    "source_url",
    "outlet",
    "platform__id",
    "platform__name",
    "platform__slug",
)
# The text search of statements; migration timeline 0001 indexes this exact expression.
STATEMENT_SEARCH_FIELDS = ("title", "summary", "quote", "outlet")
SEARCH_CONFIG = "english"


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- changes ------------------------------------------------------------------------------


def published_changes() -> QuerySet[Change]:
    """Changes the public may see: published changes of the document's text."""
    return Change.objects.filter(published_at__isnull=False, kind=ChangeKind.CHANGE)


def _search_query(q: str) -> SearchQuery:
    # websearch syntax never raises on user input ("a & !b :*", quotes, parentheses).
    return SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)


def filter_changes(qs: QuerySet[Change], filters: Filters) -> QuerySet[Change]:
    if filters.platforms:
        qs = qs.filter(
            document__in=Document.objects.filter(platform__slug__in=filters.platforms).values("id")
        )
    if filters.kind:
        qs = qs.filter(document__in=Document.objects.filter(kind=filters.kind).values("id"))
    if filters.document is not None:
        qs = qs.filter(document_id=filters.document)
    if filters.ai is not None:
        qs = qs.filter(ai_relevant=filters.ai)
    if filters.since:
        qs = qs.filter(observed_at__gte=start_of_day(filters.since))
    if filters.until:
        qs = qs.filter(observed_at__lt=start_of_day(filters.until + timedelta(days=1)))
    if filters.q:
        if is_postgres():
            qs = qs.filter(search_vector=_search_query(filters.q))
        else:
            q = filters.q
            qs = qs.filter(
                Q(summary__icontains=q) | Q(headline__icontains=q) | Q(diff__icontains=q)
            )
    return qs


def change_rows(qs: QuerySet[Change]) -> QuerySet[Change]:
    return qs.select_related("document__platform").only(*CHANGE_ROW_FIELDS)


def changes_older_than(key: Key) -> Q:
    if key.rank == CHANGE:
        # The redundant `<=` lets the planner use the index range; the OR breaks ties by id.
        return Q(observed_at__lte=key.moment) & (Q(observed_at__lt=key.moment) | Q(id__lt=key.id))
    return Q(observed_at__lt=key.moment)


def changes_newer_than(key: Key) -> Q:
    if key.rank == CHANGE:
        return Q(observed_at__gte=key.moment) & (Q(observed_at__gt=key.moment) | Q(id__gt=key.id))
    return Q(observed_at__gte=key.moment)


NEWEST_FIRST = ("-observed_at", "-id")
OLDEST_FIRST = ("observed_at", "id")


# --- statements ---------------------------------------------------------------------------


def filter_statements(qs: QuerySet[Statement], filters: Filters) -> QuerySet[Statement]:
    if filters.platforms:
        qs = qs.filter(platform__slug__in=filters.platforms)
    if filters.since:
        qs = qs.filter(date__gte=filters.since)
    if filters.until:
        qs = qs.filter(date__lte=filters.until)
    if filters.q:
        if is_postgres():
            vector = SearchVector(*STATEMENT_SEARCH_FIELDS, config=SEARCH_CONFIG)
            qs = qs.annotate(search=vector).filter(search=_search_query(filters.q))
        else:
            q = filters.q
            qs = qs.filter(
                Q(title__icontains=q)
                | Q(summary__icontains=q)
                | Q(quote__icontains=q)
                | Q(outlet__icontains=q)
            )
    return qs


def statement_rows(qs: QuerySet[Statement]) -> QuerySet[Statement]:
    linked = Change.objects.filter(published_at__isnull=False, kind=ChangeKind.CHANGE).only(
        "id", "observed_at", "summary", "headline", "document_id"
    )
    return (
        qs.select_related("platform")
        .only(*STATEMENT_ROW_FIELDS)
        .prefetch_related(Prefetch("changes", queryset=linked, to_attr="public_changes"))
    )


def statements_older_than(key: Key) -> Q:
    if key.rank == CHANGE:
        return Q(date__lte=key.day)
    return Q(date__lte=key.day) & (Q(date__lt=key.day) | Q(id__lt=key.id))


def statements_newer_than(key: Key) -> Q:
    if key.rank == CHANGE:
        return Q(date__gt=key.day)
    return Q(date__gte=key.day) & (Q(date__gt=key.day) | Q(id__gt=key.id))


# --- the interleaved timeline -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    key: Key
    change: Change | None = None
    statement: Statement | None = None

    @property
    def is_change(self) -> bool:
        return self.change is not None


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    older: str | None  # cursor of the next (older) page
    newer: str | None  # cursor of the previous (newer) page; None on the first page
    at_start: bool  # this is the newest page


def _change_entries(qs: QuerySet[Change]) -> list[Entry]:
    return [Entry(change_key(c.observed_at, c.pk), change=c) for c in qs]


def _statement_entries(qs: QuerySet[Statement]) -> list[Entry]:
    return [Entry(statement_key(s.date, s.pk), statement=s) for s in qs]


def _fetch(filters: Filters, size: int, *, after: Key | None, before: Key | None) -> list[Entry]:
    """Up to size + 1 entries past the cursor, in reading order of the fetch direction."""
    changes = filter_changes(published_changes(), filters)
    statements = (
        filter_statements(Statement.objects.all(), filters) if filters.statements_included else None
    )
    if before is not None:
        changes = changes.filter(changes_newer_than(before)).order_by(*OLDEST_FIRST)
        entries = _change_entries(change_rows(changes)[: size + 1])
        if statements is not None:
            statements = statements.filter(statements_newer_than(before))
            entries += _statement_entries(
                statement_rows(statements.order_by("date", "id"))[: size + 1]
            )
        entries.sort(key=lambda e: e.key)
        return entries[: size + 1]
    if after is not None:
        changes = changes.filter(changes_older_than(after))
    entries = _change_entries(change_rows(changes.order_by(*NEWEST_FIRST))[: size + 1])
    if statements is not None:
        if after is not None:
            statements = statements.filter(statements_older_than(after))
        entries += _statement_entries(
            statement_rows(statements.order_by("-date", "-id"))[: size + 1]
        )
    entries.sort(key=lambda e: e.key, reverse=True)
    return entries[: size + 1]


def timeline_page(
    filters: Filters, *, size: int, after: Key | None = None, before: Key | None = None
) -> TimelinePage:
    if before is not None:
        fetched = _fetch(filters, size, after=None, before=before)
        if len(fetched) <= size:
            # Nothing newer than a full page: that is the first page, shown the canonical way.
            return timeline_page(filters, size=size)
        entries = list(reversed(fetched[:size]))
        return TimelinePage(
            entries=entries,
            older=entries[-1].key.token,
            newer=entries[0].key.token,
            at_start=False,
        )
    fetched = _fetch(filters, size, after=after, before=None)
    entries = fetched[:size]
    return TimelinePage(
        entries=entries,
        older=entries[-1].key.token if len(fetched) > size else None,
        newer=entries[0].key.token if after is not None and entries else None,
        at_start=after is None,
    )


def iter_timeline(filters: Filters, *, chunk_size: int = 2000) -> Iterator[Entry]:
    """Every entry, newest first, streamed (for the CSV export)."""
    changes = change_rows(filter_changes(published_changes(), filters).order_by(*NEWEST_FIRST))
    streams = [
        (Entry(change_key(c.observed_at, c.pk), change=c) for c in changes.iterator(chunk_size))
    ]
    if filters.statements_included:
        statements = filter_statements(Statement.objects.all(), filters)
        statements = statements.select_related("platform").only(*STATEMENT_ROW_FIELDS)
        statements = statements.order_by("-date", "-id")
        streams.append(
            Entry(statement_key(s.date, s.pk), statement=s) for s in statements.iterator(chunk_size)
        )
    yield from heapq.merge(*streams, key=lambda e: e.key, reverse=True)


def _cache_key(prefix: str, filters: Filters) -> str:
    digest = hashlib.sha256(filters.cache_key().encode()).hexdigest()[:32]
    return f"timeline:{prefix}:v1:{digest}"


def change_count(filters: Filters) -> int:
    """How many published changes match; cached briefly (counting is the slow part of a page)."""
    key = _cache_key("changes", filters)
    count = cache.get(key)
    if count is None:
        count = filter_changes(published_changes(), filters).count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return count


def statement_count(filters: Filters) -> int:
    if not filters.statements_included:
        return 0
    key = _cache_key("statements", filters)
    count = cache.get(key)
    if count is None:
        count = filter_statements(Statement.objects.all(), filters).count()
        cache.set(key, count, COUNT_CACHE_SECONDS)
    return count


def platform_choices() -> list[Platform]:
    return list(Platform.objects.order_by("name").only("id", "name", "slug"))


# --- one change ---------------------------------------------------------------------------


def change_for_page(pk: int) -> Change:
    """A published change with what its page shows (raises Change.DoesNotExist)."""
    return (
        published_changes()
        .select_related("document__platform", "new_version", "old_version")
        .defer("search_vector", "new_version__text", "old_version__text")
        .get(pk=pk)
    )


def change_neighbours(change: Change) -> tuple[Change | None, Change | None]:
    """The previous (older) and next (newer) published change of the same document."""
    key = change_key(change.observed_at, change.pk)
    same = (
        published_changes()
        .filter(document_id=change.document_id)
        .only("id", "observed_at", "summary", "headline")
    )
    older = same.filter(changes_older_than(key)).order_by(*NEWEST_FIRST).first()
    newer = same.filter(changes_newer_than(key)).order_by(*OLDEST_FIRST).first()
    return older, newer


def change_statements(change: Change) -> list[Statement]:
    return list(change.statements.select_related("platform").order_by("-date", "-id"))


def change_with_diff(pk: int) -> Change:
    return (
        published_changes().select_related("document__platform").defer("search_vector").get(pk=pk)
    )


def stored_diff(change: Change) -> Diff:
    """The change's stored diff; computed from its two texts if it has none (not analysed yet)."""
    try:
        return Diff.from_json(change.diff)
    except (ValueError, KeyError, TypeError):
        texts = Version.objects.in_bulk([change.old_version_id, change.new_version_id])
        return compute_diff(texts[change.old_version_id].text, texts[change.new_version_id].text)


# --- documents and versions ---------------------------------------------------------------


def document_for_page(pk: int) -> Document:
    return Document.objects.select_related("platform").get(pk=pk)


def public_versions(document_id: int) -> QuerySet[Version]:
    return Version.objects.filter(document_id=document_id, state=VersionState.PUBLISHED)


VERSION_ROW_FIELDS = (
    "id",
    "document_id",
    "sha256",
    "word_count",
    "observed_at",
    "source",
    "source_url",
    "stated_effective",
    "stated_updated",
    "snapshot_id",
)


def version_history(document_id: int, *, limit: int, before: Key | None = None) -> list[Version]:
    """Up to limit + 1 public versions, newest first (as the pipeline orders them: by
    observation time, then id), each annotated with the public change that produced it."""
    qs = public_versions(document_id).only(*VERSION_ROW_FIELDS)
    if before is not None:
        qs = qs.filter(changes_older_than(before))
    public = Q(change__published_at__isnull=False, change__kind=ChangeKind.CHANGE)
    qs = qs.annotate(
        change_pk=F("change__id"),
        change_ai=F("change__ai_relevant"),
        change_public=public,
    )
    return list(qs.order_by(*NEWEST_FIRST)[: limit + 1])


def version_snapshot(document_id: int, pk: int) -> Snapshot | None:
    """The stored raw page behind a public version (raises Version.DoesNotExist)."""
    version = public_versions(document_id).only("id", "snapshot_id").get(pk=pk)
    if version.snapshot_id is None:
        return None
    return Snapshot.objects.filter(pk=version.snapshot_id).first()


def version_change(version: Version) -> Change | None:
    """The change that produced `version`, if it is public."""
    return published_changes().filter(new_version=version).only("id", "observed_at").first()


def example_platform() -> Platform | None:
    return Platform.objects.order_by("name").only("name", "slug").first()


def version_for_page(document_id: int, pk: int) -> Version:
    return public_versions(document_id).get(pk=pk)


def current_version(document_id: int) -> Version | None:
    return public_versions(document_id).order_by(*NEWEST_FIRST).first()


def platform_stats(platform: Platform) -> tuple[dict[int, tuple[int, int]], list]:
    """(document_change_counts, monthly_change_counts) of a platform, cached briefly: both
    aggregate every change of the platform and only move when a change is published."""
    key = f"timeline:platform-stats:v1:{platform.pk}"
    stats = cache.get(key)
    if stats is None:
        stats = (document_change_counts(platform), monthly_change_counts(platform))
        cache.set(key, stats, COUNT_CACHE_SECONDS)
    return stats


def document_change_counts(platform: Platform) -> dict[int, tuple[int, int]]:
    """document id -> (published changes, AI-relevant ones)."""
    rows = (
        published_changes()
        .filter(document__platform=platform)
        .values("document_id")
        .annotate(total=Count("id"), ai=Count("id", filter=Q(ai_relevant=True)))
        .order_by()
    )
    return {r["document_id"]: (r["total"], r["ai"]) for r in rows}


# --- platform chart -----------------------------------------------------------------------


def monthly_change_counts(platform: Platform) -> list[tuple[date, int, int]]:
    """(first day of month, AI-relevant, other) for the platform's published changes."""
    rows = (
        published_changes()
        .filter(document__platform=platform)
        .annotate(month=TruncMonth("observed_at"))
        .values("month")
        .annotate(total=Count("id"), ai=Count("id", filter=Q(ai_relevant=True)))
        .order_by("month")
    )
    out = []
    for r in rows:
        month = r["month"]
        month = month.date() if hasattr(month, "date") else month
        out.append((month, r["ai"], r["total"] - r["ai"]))
    return out


# --- admin help ---------------------------------------------------------------------------


def changes_near(*, platform_id: int, day: date, limit: int = 5) -> list[Change]:
    """The platform's published changes closest in date to `day` (either side)."""
    moment = start_of_day(day)
    base = change_rows(published_changes().filter(document__platform_id=platform_id))
    before = list(base.filter(observed_at__lt=moment).order_by(*NEWEST_FIRST)[:limit])
    after = list(base.filter(observed_at__gte=moment).order_by(*OLDEST_FIRST)[:limit])
    both = before + after
    both.sort(key=lambda c: abs(c.observed_at - moment))
    return both[:limit]


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"
