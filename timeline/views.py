"""Public pages. htmx requests get a template partial; everything works as plain GET links."""

from __future__ import annotations

import codecs
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from platforms.kinds import DocumentKind
from platforms.models import Document
from platforms.selectors import platform_list_with_documents, registry_counts
from snapshots import ai_clauses
from snapshots.diff_render import render_inline_html, render_side_by_side_html
from snapshots.diffing import compute_diff
from snapshots.models import Change, Version
from snapshots.storage import snapshot_body
from timeline import selectors
from timeline.ai import (
    ai_hunks_only,
    category_label,
    explorer_documents,
    explorer_fingerprint,
    explorer_index,
    highlighted_paragraphs,
)
from timeline.caching import public_cache
from timeline.charts import change_chart
from timeline.cursors import InvalidCursor, Key, change_key, parse_cursor
from timeline.filters import parse_filters
from timeline.rows import rows, version_rows

PAGE_SIZE = 25
STATEMENTS_SHOWN = 20  # on a platform page; the rest are on its timeline
VERSIONS_PER_PAGE = 50


def _partial(request, template: str, partial: str) -> str:
    """The partial for an htmx swap; the whole page otherwise (and for history restores)."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def _cursor(request, name: str) -> tuple[Key | None, str]:
    token = request.GET.get(name, "")
    if not token:
        return None, ""
    try:
        return parse_cursor(token), ""
    except InvalidCursor as exc:
        return None, str(exc)


def _url(path: str, items: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(items)}" if items else path


# --- timeline -----------------------------------------------------------------------------


@require_GET
@public_cache  # outside vary_on_headers: the cache key must vary on those headers too
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def timeline_index(request):
    platforms = selectors.platform_choices()
    filters = parse_filters(request.GET, known_platforms={p.slug for p in platforms})
    after, after_error = _cursor(request, "after")
    before, before_error = _cursor(request, "before")
    if after and before:
        after = before = None
        after_error = "This page link is not valid."
    page = selectors.timeline_page(filters, size=PAGE_SIZE, after=after, before=before)
    path = request.path
    items = filters.query_items()
    context = {
        "filters": filters,
        "platforms": platforms,
        "selected_platforms": set(filters.platforms),
        "kinds": DocumentKind.choices,
        "page": page,
        "rows": rows(page.entries),
        "change_count": selectors.change_count(filters),
        "statement_count": selectors.statement_count(filters),
        "cursor_error": after_error or before_error,
        "first_url": _url(path, items),
        "older_url": _url(path, [*items, ("after", page.older)]) if page.older else "",
        "newer_url": _url(path, [*items, ("before", page.newer)]) if page.newer else "",
        "csv_url": _url(reverse("timeline:changes_csv"), items),
        "api_url": _url(reverse("api:changes"), items),
    }
    return render(request, _partial(request, "timeline/index.html", "results"), context)


def _categories(slugs) -> list[tuple[str, str]]:
    return [(slug, category_label(slug)) for slug in slugs or ()]


# --- platforms ----------------------------------------------------------------------------


@require_GET
@public_cache
def platform_list(request):
    context = {"platforms": platform_list_with_documents(), "counts": registry_counts()}
    return render(request, "timeline/platforms.html", context)


@require_GET
@public_cache
def platform_detail(request, slug: str):
    platform = get_object_or_404(platform_list_with_documents(), slug=slug)
    statements = list(platform.statements.order_by("-date", "-id")[:STATEMENTS_SHOWN])
    counts, monthly = selectors.platform_stats(platform)
    documents = [(doc, *counts.get(doc.pk, (0, 0))) for doc in platform.documents.all()]
    chart = change_chart(monthly)
    context = {
        "platform": platform,
        "documents": documents,
        "statements": statements,
        "more_statements": platform.statement_count - len(statements),
        "chart": chart,
        "timeline_url": _url(reverse("timeline:home"), [("platform", platform.slug)]),
    }
    return render(request, "timeline/platform.html", context)


# --- one change ---------------------------------------------------------------------------

DIFF_VIEWS = {"inline": "Inline", "side": "Side by side"}
DIFF_SCOPES = {"all": "All changes", "ai": "AI clauses only"}


@require_GET
@public_cache  # outside vary_on_headers: the cache key must vary on those headers too
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def change_detail(request, pk: int):
    try:
        change = selectors.change_for_page(pk)
    except Change.DoesNotExist:
        raise Http404("No such public change.") from None
    view = request.GET.get("view", "inline")
    view = view if view in DIFF_VIEWS else "inline"
    scope = request.GET.get("scope", "all")
    scope = scope if scope in DIFF_SCOPES else "all"

    diff = selectors.stored_diff(change)
    shown = ai_hunks_only(diff, change.ai_analysis) if scope == "ai" else diff
    render_diff = render_side_by_side_html if view == "side" else render_inline_html
    older, newer = selectors.change_neighbours(change)
    version = change.new_version
    accessed = timezone.now()
    path = change.get_absolute_url()
    context = {
        "change": change,
        "document": change.document,
        "platform": change.document.platform,
        "version": version,
        "categories": _categories(change.ai_categories),
        # The renderer escapes every piece of document text (snapshots/diff_render.py).
        "diff_html": render_diff(shown) if shown.hunks else "",
        "diff_hidden_hunks": len(diff.hunks) - len(shown.hunks),
        "view": view,
        "scope": scope,
        "views": [
            (k, label, _url(path, _diff_params(k, scope))) for k, label in DIFF_VIEWS.items()
        ],
        "scopes": [
            (k, label, _url(path, _diff_params(view, k))) for k, label in DIFF_SCOPES.items()
        ],
        "older": older,
        "newer": newer,
        "statements": selectors.change_statements(change),
        "permalink": selectors.site_url(path),
        "accessed": accessed,
        "citation_title": change.headline or f"{change.document.title}: {change.summary}",
    }
    return render(request, _partial(request, "timeline/change.html", "diff"), context)


def _diff_params(view: str, scope: str) -> list[tuple[str, str]]:
    items = []
    if view != "inline":
        items.append(("view", view))
    if scope != "all":
        items.append(("scope", scope))
    return items


# --- stored snapshots ---------------------------------------------------------------------

# The raw page is third-party content: shown as text, in a sandbox, never as HTML of ours.
RAW_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'; form-action 'none'"


@require_GET
def version_snapshot(request, document_id: int, pk: int):
    try:
        snapshot = selectors.version_snapshot(document_id, pk)
    except Version.DoesNotExist:
        raise Http404("No such version.") from None
    if snapshot is None:
        raise Http404("No stored page for this version.")
    raw = snapshot_body(snapshot)
    encoding = snapshot.encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    text = raw.decode(encoding, errors="replace")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Security-Policy"] = RAW_CSP  # the middleware keeps a view's own policy
    response["Content-Disposition"] = f'inline; filename="snapshot-{snapshot.sha256[:16]}.txt"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


# --- documents ----------------------------------------------------------------------------


def _document_or_404(pk: int) -> Document:
    try:
        return selectors.document_for_page(pk)
    except Document.DoesNotExist:
        raise Http404("No such document.") from None


@require_GET
@public_cache
def document_detail(request, pk: int):
    document = _document_or_404(pk)
    before, cursor_error = _cursor(request, "before")
    versions = selectors.version_history(document.pk, limit=VERSIONS_PER_PAGE, before=before)
    more = len(versions) > VERSIONS_PER_PAGE
    versions = versions[:VERSIONS_PER_PAGE]
    current = selectors.current_version(document.pk)
    paragraphs = highlighted_paragraphs(current) if current is not None and before is None else []
    older_url = ""
    if more:
        last = versions[-1]
        older_url = _url(request.path, [("before", change_key(last.observed_at, last.pk).token)])
    context = {
        "document": document,
        "platform": document.platform,
        "versions": version_rows(document.pk, versions),
        "compare_url": reverse("timeline:compare", kwargs={"pk": document.pk}),
        "older_url": older_url,
        "cursor_error": cursor_error,
        "current": current,
        "paragraphs": paragraphs,
        "ai_count": sum(1 for p in paragraphs if p.is_ai),
        "compare_from": versions[1].pk if len(versions) > 1 else "",
        "compare_to": versions[0].pk if versions else "",
    }
    return render(request, "timeline/document.html", context)


@require_GET
@public_cache
def version_detail(request, document_id: int, pk: int):
    document = _document_or_404(document_id)
    try:
        version = selectors.version_for_page(document.pk, pk)
    except Version.DoesNotExist:
        raise Http404("No such version.") from None
    paragraphs = highlighted_paragraphs(version)
    context = {
        "document": document,
        "platform": document.platform,
        "version": version,
        "paragraphs": paragraphs,
        "ai_count": sum(1 for p in paragraphs if p.is_ai),
        "change": selectors.version_change(version),
    }
    return render(request, "timeline/version.html", context)


def _version_id(value: str) -> int | None:
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


@require_GET
@public_cache  # outside vary_on_headers: the cache key must vary on those headers too
@vary_on_headers("HX-Request", "HX-History-Restore-Request")
def document_compare(request, pk: int):
    document = _document_or_404(pk)
    versions = version_rows(document.pk, selectors.version_history(document.pk, limit=1000)[:1000])
    from_id = _version_id(request.GET.get("from", ""))
    to_id = _version_id(request.GET.get("to", ""))
    view = request.GET.get("view", "inline")
    view = view if view in DIFF_VIEWS else "inline"
    context = {
        "document": document,
        "platform": document.platform,
        "versions": versions,
        "from_id": from_id,
        "to_id": to_id,
        "view": view,
    }
    if from_id is None or to_id is None:
        if request.GET.get("from") or request.GET.get("to"):
            context["error"] = "Choose two versions of this document to compare."
            return render(request, "timeline/compare.html", context, status=400)
        return render(request, "timeline/compare.html", context)
    pair = selectors.public_versions(document.pk).in_bulk([from_id, to_id])
    if from_id not in pair or to_id not in pair:
        context["error"] = "These versions are not public versions of this document."
        return render(request, "timeline/compare.html", context, status=404)
    old, new = pair[from_id], pair[to_id]
    diff = compute_diff(old.text, new.text)
    render_diff = render_side_by_side_html if view == "side" else render_inline_html
    path = request.path
    base = [("from", str(from_id)), ("to", str(to_id))]
    context.update(
        old=old,
        new=new,
        diff=diff,
        diff_html=render_diff(diff) if diff.hunks else "",
        views=[
            (k, label, _url(path, [*base, *([("view", k)] if k != "inline" else [])]))
            for k, label in DIFF_VIEWS.items()
        ],
        swap_url=_url(path, [("from", str(to_id)), ("to", str(from_id))]),
    )
    return render(request, _partial(request, "timeline/compare.html", "diff"), context)


# --- AI clause explorer -------------------------------------------------------------------


EXPLORER_PAGE_SECONDS = 3600


@require_GET
@public_cache
def ai_explorer(request):
    category = request.GET.get("category", "")
    if category not in ai_clauses.CATEGORIES:
        category = ""
    index = explorer_index()
    # The page body only changes when a document gets a new version: render it once per state.
    key = f"timeline:ai-page:v1:{explorer_fingerprint(index)}:{category}"
    body = cache.get(key)
    if body is None:
        body = render_to_string(
            "timeline/_ai_body.html", _explorer_context(index, category), request=request
        )
        cache.set(key, body, EXPLORER_PAGE_SECONDS)
    context = {
        "category": category,
        "categories": list(ai_clauses.CATEGORIES.items()),
        # Our own template's output, in which every tracked text was escaped.
        "body": mark_safe(body),  # noqa: S308
    }
    return render(request, "timeline/ai.html", context)


def _explorer_context(index, category: str) -> dict:
    platforms: dict[int, dict] = {}
    matrix_counts: dict[int, dict[str, int]] = {}
    for doc in explorer_documents(index):
        platform = doc.document.platform
        entry = platforms.setdefault(
            platform.pk, {"platform": platform, "documents": [], "passages": 0}
        )
        counts = matrix_counts.setdefault(platform.pk, dict.fromkeys(ai_clauses.CATEGORIES, 0))
        passages = []
        for passage in doc.passages:
            slugs = [slug for slug, _, _ in passage.paragraph.categories]
            for slug in slugs:
                if slug in counts:
                    counts[slug] += 1
            if not category or category in slugs:
                passages.append(passage)
        if passages:
            entry["documents"].append({"document": doc.document, "passages": passages})
            entry["passages"] += len(passages)
    rows = [
        {
            "platform": entry["platform"],
            "cells": [matrix_counts[pk][slug] for slug in ai_clauses.CATEGORIES],
            "passages": entry["passages"],
        }
        for pk, entry in platforms.items()
    ]
    return {
        "category": category,
        "category_label": category_label(category) if category else "",
        "categories": list(ai_clauses.CATEGORIES.items()),
        "rows": rows,
        "platforms": [e for e in platforms.values() if e["documents"]],
    }


@require_GET
@public_cache
def data(request):
    return render(request, "timeline/data.html", {"example": selectors.example_platform()})
