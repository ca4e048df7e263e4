"""CSV export of the filtered timeline (same filters as the page), streamed row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from timeline import selectors
from timeline.ai import category_label
from timeline.filters import parse_filters

COLUMNS = [
    "type",
    "id",
    "date",
    "platform",
    "document",
    "document_kind",
    "ai_relevant",
    "ai_categories",
    "words_added",
    "words_removed",
    "headline",
    "summary",
    "source",
    "url",
]
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _rows(filters) -> Iterator[list[object]]:
    yield COLUMNS
    for entry in selectors.iter_timeline(filters):
        if entry.change is not None:
            c = entry.change
            yield [
                "change",
                c.pk,
                c.observed_at.isoformat(),
                c.document.platform.name,
                c.document.title,
                c.document.get_kind_display(),
                "yes" if c.ai_relevant else "no",
                "; ".join(category_label(slug) for slug in c.ai_categories or ()),
                c.words_added,
                c.words_removed,
                c.headline,
                c.summary,
                c.document.url,
                selectors.site_url(c.get_absolute_url()),
            ]
        else:
            s = entry.statement
            yield [
                "statement",
                s.pk,
                s.date.isoformat(),
                s.platform.name,
                "",
                "",
                "",
                "",
                "",
                "",
                s.title,
                s.summary,
                s.source_url,
                selectors.site_url(s.platform.get_absolute_url()),
            ]


@require_GET
def changes_csv(request):
    platforms = {p.slug for p in selectors.platform_choices()}
    filters = parse_filters(request.GET, known_platforms=platforms)
    if filters.errors:
        return JsonResponse({"errors": filters.errors}, status=400)
    writer = csv.writer(_Echo())
    lines = (writer.writerow([safe_cell(v) for v in row]) for row in _rows(filters))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="clausewatch-timeline.csv"'
    return response
