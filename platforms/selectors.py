"""Reads for the platforms app."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from platforms.models import Document, Platform


def platform_list_with_documents() -> QuerySet[Platform]:
    """Every platform with its documents prefetched: two queries whatever the size."""
    documents = Document.objects.order_by("kind", "title")
    return Platform.objects.annotate(
        statement_count=Count("statements", distinct=True),
    ).prefetch_related(Prefetch("documents", queryset=documents))


def registry_counts() -> dict[str, int]:
    return Document.objects.aggregate(
        documents=Count("id"),
        active=Count("id", filter=Q(active=True)),
        failing=Count("id", filter=Q(consecutive_failures__gt=0)),
        platforms=Count("platform", distinct=True),
    )
