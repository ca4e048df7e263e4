"""The public JSON API, /api/v1/ (field names are a contract: see DESIGN.md).

Plain JsonResponse views: the API is read-only and small, and its pagination is keyset-based
(like the pages), which a framework would not give us for free. Lists answer
{"count", "next", "previous", "results"}; `next`/`previous` are absolute URLs carrying an
`after`/`before` cursor. Dates are ISO 8601 (UTC, "Z"). Bad parameters answer 400 with
{"errors": {...}}; unknown ids 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import F, Prefetch, Q, QuerySet
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from platforms.models import Document, Platform, Statement
from snapshots.diff_render import render_unified
from snapshots.models import Change
from timeline import selectors
from timeline.ai import category_label
from timeline.caching import public_cache
from timeline.cursors import InvalidCursor, change_key, parse_cursor, statement_key
from timeline.filters import Filters, parse_filters

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class BadRequest(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _json(data, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    # Public, read-only, no cookies: any site or notebook may read it.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def api_view(view: Callable) -> Callable:
    @require_GET
    @public_cache
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return _json(view(request, *args, **kwargs))
        except BadRequest as exc:
            return _json({"errors": exc.errors}, status=400)
        except (
            Change.DoesNotExist,
            Document.DoesNotExist,
            Platform.DoesNotExist,
        ):
            return _json({"errors": {"id": "Not found."}}, status=404)

    return wrapped


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


# --- pagination ---------------------------------------------------------------------------


def _limit(request) -> int:
    raw = request.GET.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not (1 <= int(raw) <= MAX_LIMIT):
        raise BadRequest({"limit": f"Use an integer from 1 to {MAX_LIMIT}."})
    return int(raw)


def _parse(token: str, parse: Callable[[str], object]):
    try:
        return parse(token)
    except (InvalidCursor, ValueError) as exc:
        raise BadRequest({"cursor": "This cursor is not valid."}) from exc


def _id_cursor(token: str) -> int:
    if not (token.isascii() and token.isdigit()) or len(token) > 18:
        raise ValueError(token)
    return int(token)


class Keyset:
    """How one list is ordered (newest or lowest first) and cut at a cursor."""

    def __init__(
        self,
        *,
        parse: Callable[[str], object],
        token: Callable[[object], str],
        forward: Callable[[object], Q],
        backward: Callable[[object], Q],
        order: tuple[str, ...],
        reverse_order: tuple[str, ...],
    ):
        self.parse, self.token = parse, token
        self.forward, self.backward = forward, backward
        self.order, self.reverse_order = order, reverse_order


def _page(request, qs: QuerySet, keyset: Keyset, *, count: int, extra: list[tuple[str, str]]):
    limit = _limit(request)
    after_raw, before_raw = request.GET.get("after", ""), request.GET.get("before", "")
    if after_raw and before_raw:
        raise BadRequest({"cursor": "Use either after or before, not both."})
    next_token = previous_token = None
    if before_raw:
        before = _parse(before_raw, keyset.parse)
        rows = list(qs.filter(keyset.backward(before)).order_by(*keyset.reverse_order)[: limit + 1])
        has_previous = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        previous_token = keyset.token(rows[0]) if has_previous else None
        next_token = keyset.token(rows[-1]) if rows else before_raw
    else:
        if after_raw:
            qs = qs.filter(keyset.forward(_parse(after_raw, keyset.parse)))
        rows = list(qs.order_by(*keyset.order)[: limit + 1])
        has_next = len(rows) > limit
        rows = rows[:limit]
        next_token = keyset.token(rows[-1]) if has_next else None
        if after_raw:
            previous_token = keyset.token(rows[0]) if rows else after_raw

    base = [*extra, *([("limit", str(limit))] if limit != DEFAULT_LIMIT else [])]

    def link(name: str, token: str | None) -> str | None:
        if token is None:
            return None
        return selectors.site_url(f"{request.path}?{urlencode([*base, (name, token)])}")

    return rows, {
        "count": count,
        "next": link("after", next_token),
        "previous": link("before", previous_token),
    }


def _cached_count(name: str, key: str, qs: QuerySet) -> int:
    cache_key = f"timeline:api-count:{name}:" + hashlib.sha256(key.encode()).hexdigest()[:32]
    count = cache.get(cache_key)
    if count is None:
        count = qs.count()
        cache.set(cache_key, count, selectors.COUNT_CACHE_SECONDS)
    return count


def _list(rows, meta, serialize) -> dict:
    return {**meta, "results": [serialize(r) for r in rows]}


BY_ID = Keyset(
    parse=_id_cursor,
    token=lambda obj: str(obj.pk),
    forward=lambda pk: Q(pk__gt=pk),
    backward=lambda pk: Q(pk__lt=pk),
    order=("id",),
    reverse_order=("-id",),
)
CHANGES = Keyset(
    parse=parse_cursor,
    token=lambda c: change_key(c.observed_at, c.pk).token,
    forward=lambda key: selectors.changes_older_than(key),
    backward=lambda key: selectors.changes_newer_than(key),
    order=selectors.NEWEST_FIRST,
    reverse_order=selectors.OLDEST_FIRST,
)
STATEMENTS = Keyset(
    parse=parse_cursor,
    token=lambda s: statement_key(s.date, s.pk).token,
    forward=lambda key: selectors.statements_older_than(key),
    backward=lambda key: selectors.statements_newer_than(key),
    order=("-date", "-id"),
    reverse_order=("date", "id"),
)


def _filters(request, allowed: set[str]) -> Filters:
    unknown = set(request.GET) - allowed - {"limit", "after", "before"}
    if unknown:
        raise BadRequest({name: "Unknown parameter." for name in sorted(unknown)})
    platforms = (
        {p.slug for p in selectors.platform_choices()} if "platform" in request.GET else None
    )
    filters = parse_filters(request.GET, known_platforms=platforms)
    if filters.errors:
        raise BadRequest(filters.errors)
    return filters


# --- serializers --------------------------------------------------------------------------


def platform_json(p: Platform) -> dict:
    return {
        "id": p.pk,
        "slug": p.slug,
        "name": p.name,
        "homepage": p.homepage,
        "description": p.description,
        "page": selectors.site_url(p.get_absolute_url()),
        "feed": selectors.site_url(reverse("timeline:feed_platform", kwargs={"slug": p.slug})),
    }


def document_json(d: Document) -> dict:
    return {
        "id": d.pk,
        "platform": d.platform.slug,
        "kind": d.kind,
        "title": d.title,
        "url": d.url,
        "status": d.status,
        "active": d.active,
        "last_checked_at": iso(d.last_checked_at),
        "page": selectors.site_url(reverse("timeline:document", kwargs={"pk": d.pk})),
        "versions": selectors.site_url(reverse("api:versions", kwargs={"pk": d.pk})),
    }


def version_json(v) -> dict:
    return {
        "id": v.pk,
        "document": v.document_id,
        "sha256": v.sha256,
        "observed_at": iso(v.observed_at),
        "source": v.source,
        "source_url": v.source_url,
        "word_count": v.word_count,
        "stated_effective": iso(v.stated_effective),
        "stated_updated": iso(v.stated_updated),
        "change": v.change_pk if v.change_public else None,
        "page": selectors.site_url(
            reverse("timeline:version", kwargs={"document_id": v.document_id, "pk": v.pk})
        ),
    }


def change_json(c: Change) -> dict:
    return {
        "id": c.pk,
        "document": c.document_id,
        "document_title": c.document.title,
        "document_kind": c.document.kind,
        "platform": c.document.platform.slug,
        "observed_at": iso(c.observed_at),
        "published_at": iso(c.published_at),
        "ai_relevant": c.ai_relevant,
        "ai_categories": list(c.ai_categories or ()),
        "ai_category_labels": [category_label(s) for s in c.ai_categories or ()],
        "words_added": c.words_added,
        "words_removed": c.words_removed,
        "summary": c.summary,
        "headline": c.headline,
        "url": selectors.site_url(c.get_absolute_url()),
    }


def statement_json(s: Statement) -> dict:
    return {
        "id": s.pk,
        "platform": s.platform.slug,
        "kind": s.kind,
        "date": iso(s.date),
        "title": s.title,
        "summary": s.summary,
        "quote": s.quote,
        "source_url": s.source_url,
        "outlet": s.outlet,
        "changes": [c.pk for c in s.public_changes],
        "page": selectors.site_url(f"{s.platform.get_absolute_url()}#statement-{s.pk}"),
    }


# --- views --------------------------------------------------------------------------------


@api_view
def api_root(request) -> dict:
    def url(name: str) -> str:
        return selectors.site_url(reverse(name))

    return {
        "platforms": url("api:platforms"),
        "documents": url("api:documents"),
        "changes": url("api:changes"),
        "statements": url("api:statements"),
        "feeds": {
            "changes": url("timeline:feed_changes"),
            "ai": url("timeline:feed_ai"),
        },
    }


@api_view
def platforms(request) -> dict:
    _filters(request, set())
    qs = Platform.objects.all()
    rows, meta = _page(request, qs, BY_ID, count=qs.count(), extra=[])
    return _list(rows, meta, platform_json)


@api_view
def documents(request) -> dict:
    _filters(request, {"platform", "kind"})
    filters = parse_filters(request.GET)
    qs = Document.objects.select_related("platform")
    extra: list[tuple[str, str]] = []
    if filters.platforms:
        qs = qs.filter(platform__slug__in=filters.platforms)
        extra += [("platform", s) for s in filters.platforms]
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
        extra.append(("kind", filters.kind))
    rows, meta = _page(request, qs, BY_ID, count=qs.count(), extra=extra)
    return _list(rows, meta, document_json)


@api_view
def document_versions(request, pk: int) -> dict:
    _filters(request, set())
    document = Document.objects.only("id").get(pk=pk)
    qs = selectors.public_versions(document.pk).only(*selectors.VERSION_ROW_FIELDS)
    public = Q(change__published_at__isnull=False, change__kind="change")
    qs = qs.annotate(change_pk=F("change__id"), change_public=public)
    rows, meta = _page(request, qs, CHANGES, count=_cached_count("versions", str(pk), qs), extra=[])
    return _list(rows, meta, version_json)


CHANGE_FILTERS = {"platform", "document", "kind", "ai", "since", "until", "q"}


@api_view
def changes(request) -> dict:
    filters = _filters(request, CHANGE_FILTERS)
    qs = selectors.change_rows(selectors.filter_changes(selectors.published_changes(), filters))
    count = selectors.change_count(filters)
    rows, meta = _page(request, qs, CHANGES, count=count, extra=filters.query_items())
    return _list(rows, meta, change_json)


@api_view
def change_detail(request, pk: int) -> dict:
    _filters(request, set())
    change = selectors.change_with_diff(pk)
    diff = selectors.stored_diff(change)
    data = change_json(change)
    data.update(
        old_version=change.old_version_id,
        new_version=change.new_version_id,
        statements=list(change.statements.order_by("-date", "-id").values_list("id", flat=True)),
        ai_analysis=change.ai_analysis,
        diff={
            "structured": diff.to_json(),
            "unified": render_unified(
                diff,
                old_label=f"version {change.old_version_id}",
                new_label=f"version {change.new_version_id}",
            ),
        },
    )
    return data


@api_view
def statements(request) -> dict:
    filters = _filters(request, {"platform", "since", "until", "q"})
    qs = selectors.filter_statements(Statement.objects.all(), filters)
    linked = selectors.published_changes().only("id")
    qs = qs.select_related("platform").prefetch_related(
        Prefetch("changes", queryset=linked, to_attr="public_changes")
    )
    count = selectors.statement_count(filters)
    rows, meta = _page(request, qs, STATEMENTS, count=count, extra=filters.query_items())
    return _list(rows, meta, statement_json)
