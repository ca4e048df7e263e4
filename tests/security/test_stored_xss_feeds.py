"""Stored XSS through the Atom feeds: payloads are text to the XML parser and to the reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

from tests.security.audit import PAYLOADS, audit_html
from tests.security.hostile import hostile_platform

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["/feeds/changes.atom", "/feeds/ai.atom", "/feeds/platforms/evil.atom"]


@pytest.fixture
def feeds(client) -> dict[str, ET.Element]:
    hostile_platform()
    parsed = {}
    for url in FEEDS:
        response = client.get(url)
        assert response.status_code == 200, url
        parsed[url] = ET.fromstring(response.content)  # noqa: S314 (our own response)
    return parsed


def test_it_keeps_payloads_as_text_in_titles(feeds):
    for url, feed in feeds.items():
        titles = [e.findtext(f"{ATOM}title") or "" for e in feed.iter(f"{ATOM}entry")]
        assert titles, url
        # The XML parser read the payload back as character data: it was escaped, not markup.
        assert any(PAYLOADS[0] in title for title in titles), url
        for entry in feed.iter(f"{ATOM}entry"):
            assert entry.find(f"{ATOM}title/*") is None  # no element smuggled in
            title = entry.find(f"{ATOM}title")
            assert title.get("type") in (None, "text")  # text: a reader shows it as is


def test_it_leaves_no_live_markup_in_html_summaries(feeds):
    seen = 0
    for url, feed in feeds.items():
        for summary in feed.iter(f"{ATOM}summary"):
            # type="html": the reader parses the text as HTML; it must be inert there too.
            assert summary.get("type") == "html"
            audit = audit_html(summary.text or "")
            assert audit.scripts == [], url
            audit.assert_inert(where=url)
            seen += PAYLOADS[1] in audit.text
    assert seen  # the payloads reached the summaries, as text


def test_it_links_only_http_urls(feeds):
    for url, feed in feeds.items():
        links = [link.get("href") for link in feed.iter(f"{ATOM}link")]
        links += [e.text for e in feed.iter(f"{ATOM}id")]
        for summary in feed.iter(f"{ATOM}summary"):
            links += [a for a in _hrefs(summary.text or "")]
        assert links, url
        for link in links:
            assert urlsplit(link).scheme in {"http", "https"}, (url, link)


def _hrefs(html: str) -> list[str]:
    import re

    return re.findall(r'href="([^"]*)"', html)
