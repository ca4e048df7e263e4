"""Timeline entries as display rows: everything a row shows, computed once in Python.

A page shows dozens of rows; resolving URLs with reverse() and formatting dates in the
template for each of them was most of the page's time. Texts stay plain strings: the
template escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.urls import reverse

from timeline.ai import category_label
from timeline.selectors import Entry

_MARK = "987654321"


class Paths:
    """URL paths for many objects from one reverse() per pattern (built per request)."""

    def __init__(self) -> None:
        self._change = reverse("timeline:change", kwargs={"pk": _MARK})
        self._document = reverse("timeline:document", kwargs={"pk": _MARK})
        self._platform = reverse("timeline:platform", kwargs={"slug": _MARK})

    def change(self, pk: int) -> str:
        return self._change.replace(_MARK, str(pk))

    def document(self, pk: int) -> str:
        return self._document.replace(_MARK, str(pk))

    def platform(self, slug: str) -> str:
        # Slugs are [-a-zA-Z0-9_]: nothing to quote.
        return self._platform.replace(_MARK, slug)


def day(value: date | datetime) -> str:
    """How a reader cites a date: 17 Oct 2024."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y}"


@dataclass(frozen=True)
class ChangeRow:
    pk: int
    url: str
    title: str
    summary: str  # shown under an editor's headline
    platform: str
    platform_url: str
    document: str
    document_url: str
    iso: str
    day: str
    moment: str
    words_added: int
    words_removed: int
    ai: bool
    categories: list[tuple[str, str]]
    is_change: bool = True


@dataclass(frozen=True)
class StatementRow:
    pk: int
    kind: str
    title: str
    summary: str
    platform: str
    platform_url: str
    iso: str
    day: str
    source_url: str
    outlet: str
    changes: list[tuple[str, str]]  # (url, day) of the public changes it is about
    is_change: bool = False


def rows(entries: list[Entry]) -> list[ChangeRow | StatementRow]:
    paths = Paths()
    out: list[ChangeRow | StatementRow] = []
    for entry in entries:
        if entry.change is not None:
            c = entry.change
            moment = c.observed_at.astimezone(UTC)
            platform = c.document.platform
            out.append(
                ChangeRow(
                    pk=c.pk,
                    url=paths.change(c.pk),
                    title=c.headline or c.summary or "Change to the text",
                    summary=c.summary if c.headline else "",
                    platform=platform.name,
                    platform_url=paths.platform(platform.slug),
                    document=c.document.title,
                    document_url=paths.document(c.document_id),
                    iso=moment.isoformat(),
                    day=day(moment),
                    moment=f"{moment.day} {moment:%B %Y, %H:%M} UTC",
                    words_added=c.words_added,
                    words_removed=c.words_removed,
                    ai=c.ai_relevant,
                    categories=[(s, category_label(s)) for s in c.ai_categories or ()],
                )
            )
        else:
            s = entry.statement
            out.append(
                StatementRow(
                    pk=s.pk,
                    kind=s.get_kind_display(),
                    title=s.title,
                    summary=s.summary,
                    platform=s.platform.name,
                    platform_url=paths.platform(s.platform.slug),
                    iso=s.date.isoformat(),
                    day=day(s.date),
                    source_url=s.source_url,
                    outlet=s.outlet,
                    changes=[
                        (paths.change(c.pk), day(c.observed_at))
                        for c in getattr(s, "public_changes", ())
                    ],
                )
            )
    return out


@dataclass(frozen=True)
class VersionRow:
    pk: int
    url: str
    iso: str
    label: str  # 17 Oct 2024, 10:00
    words: int
    source: str
    change_url: str  # the public change that produced it, if any
    change_ai: bool
    change_hidden: bool  # produced by a change that is not public (technical, flip-flop)


def version_rows(document_id: int, versions) -> list[VersionRow]:
    version_path = reverse("timeline:version", kwargs={"document_id": document_id, "pk": _MARK})
    paths = Paths()
    out = []
    for v in versions:
        moment = v.observed_at.astimezone(UTC)
        out.append(
            VersionRow(
                pk=v.pk,
                url=version_path.replace(_MARK, str(v.pk)),
                iso=moment.isoformat(),
                label=f"{moment.day} {moment:%b %Y, %H:%M}",
                words=v.word_count,
                source=v.get_source_display(),
                change_url=paths.change(v.change_pk) if v.change_public else "",
                change_ai=bool(v.change_ai),
                change_hidden=v.change_pk is not None and not v.change_public,
            )
        )
    return out
