"""Atom feeds: all published changes, AI-relevant ones, and one per platform (its changes and
statements). Links are absolute from settings.SITE_URL, whatever host the request used.

Entry summaries are Atom type="html", so every text in them is HTML-escaped here: summaries
quote section headings of tracked documents, which are third-party text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from platforms.models import Platform
from timeline import selectors
from timeline.ai import category_label
from timeline.cursors import start_of_day
from timeline.filters import Filters
from timeline.templatetags.links import web_url

FEED_SIZE = 50


class _TimelineFeed(Feed):
    feed_type = Atom1Feed
    filters = Filters()
    title = "Clausewatch: changes to platform terms"
    subtitle = "Published changes to the terms, privacy and AI policies of the platforms people publish on."

    def link(self, obj=None) -> str:
        return selectors.site_url("/" + ("?" + self._query(obj) if self._query(obj) else ""))

    def _query(self, obj) -> str:
        from urllib.parse import urlencode

        return urlencode(self.get_filters(obj).query_items())

    def feed_url(self, obj=None) -> str:
        return selectors.site_url(self.path(obj))

    def feed_guid(self, obj=None) -> str:
        return self.feed_url(obj)

    def path(self, obj) -> str:
        raise NotImplementedError

    def get_filters(self, obj) -> Filters:
        return self.filters

    def items(self, obj=None):
        return selectors.timeline_page(self.get_filters(obj), size=FEED_SIZE).entries

    def item_title(self, entry) -> str:
        if entry.change is not None:
            c = entry.change
            prefix = f"{c.document.platform.name}, {c.document.title}"
            return f"{prefix}: {c.headline or c.summary or 'changed'}"
        s = entry.statement
        return f"{s.platform.name} statement: {s.title}"

    def item_description(self, entry) -> str:
        if entry.change is not None:
            c = entry.change
            parts = []
            if c.headline:
                parts.append(f"<p>{escape(c.summary)}</p>")
            parts.append(f"<p>+{c.words_added} / −{c.words_removed} words</p>")  # noqa: RUF001
            if c.ai_relevant:
                labels = ", ".join(escape(category_label(s)) for s in c.ai_categories or ())
                parts.append(f"<p>AI-relevant: {labels}</p>")
            return "".join(parts)
        s = entry.statement
        source = escape(s.outlet)
        if href := web_url(s.source_url):  # never a javascript: link in a feed reader
            source = f'<a href="{escape(href)}">{source}</a>'
        return f"<p>{escape(s.summary)}</p><p>Source: {source}</p>"

    def item_link(self, entry) -> str:
        if entry.change is not None:
            return selectors.site_url(entry.change.get_absolute_url())
        s = entry.statement
        return selectors.site_url(f"{s.platform.get_absolute_url()}#statement-{s.pk}")

    def item_guid(self, entry) -> str:
        return self.item_link(entry)

    item_guid_is_permalink = True

    def item_pubdate(self, entry) -> datetime:
        if entry.change is not None:
            return entry.change.observed_at
        return start_of_day(entry.statement.date)

    def item_updateddate(self, entry) -> datetime:
        if entry.change is not None:
            return entry.change.published_at or entry.change.observed_at
        return start_of_day(entry.statement.date)

    def item_categories(self, entry):
        if entry.change is not None:
            return [category_label(s) for s in entry.change.ai_categories or ()]
        return ["statement"]

    def item_author_name(self, entry) -> str:
        if entry.change is not None:
            return "Clausewatch"
        return entry.statement.outlet

    def feed_copyright(self) -> str:
        return f"Clausewatch {datetime.now(UTC).year}"


class ChangesFeed(_TimelineFeed):
    filters = Filters()

    def items(self, obj=None):
        # Changes only: the platform feeds carry the statements.
        changes = selectors.change_rows(
            selectors.published_changes().order_by(*selectors.NEWEST_FIRST)
        )
        return [selectors.Entry(key=None, change=c) for c in self._changes(changes)]

    def _changes(self, changes):
        return changes[:FEED_SIZE]

    def path(self, obj) -> str:
        return reverse("timeline:feed_changes")


class AiFeed(ChangesFeed):
    title = "Clausewatch: AI-relevant changes"
    subtitle = "Changes to platform terms that touch how people's work may be used for AI."
    filters = Filters(ai=True)

    def _changes(self, changes):
        return changes.filter(ai_relevant=True)[:FEED_SIZE]

    def path(self, obj) -> str:
        return reverse("timeline:feed_ai")


class PlatformFeed(_TimelineFeed):
    def get_object(self, request, slug: str) -> Platform:
        return get_object_or_404(Platform.objects.only("id", "name", "slug"), slug=slug)

    def get_filters(self, obj) -> Filters:
        return Filters(platforms=(obj.slug,))

    def title(self, obj) -> str:
        return f"Clausewatch: {obj.name}"

    def subtitle(self, obj) -> str:
        return f"Changes to {obj.name}'s terms and policies, and its public statements."

    def path(self, obj) -> str:
        return reverse("timeline:feed_platform", kwargs={"slug": obj.slug})
